"""Every pinned version of an external service, in one place.

The Python `elasticsearch` client's major version (pyproject.toml) must equal
ELASTICSEARCH_VERSION's major; docker-compose.yml uses the same versions (a test checks both).
ES 8.19 is the newest line that still runs on Java 17, the JDK Debian 12 ships; ES 9 needs 21+.
"""

ELASTICSEARCH_VERSION = "8.19.9"
ELASTICSEARCH_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
# Tika 3.2.2 is the newest tika-server-standard jar Maven Central serves to this project.
TIKA_VERSION = "3.2.2"
TIKA_ARTIFACT = "org.apache.tika:tika-server-standard"
# The JDK (not just the JRE): devstack compiles our Elasticsearch analysis plugin with javac.
JDK_DEBIAN_PACKAGE = "openjdk-17-jdk-headless"
JAVA_MAJOR = 17
