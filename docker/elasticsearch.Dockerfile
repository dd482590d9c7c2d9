# Production Elasticsearch: the official image at the pinned version (devstack/versions.py),
# plus our foi-analysis stable plugin (devstack/es_plugin) built from source, so production
# analyses text exactly as development and CI do.
ARG ES_VERSION=8.19.9

FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION} AS es

FROM eclipse-temurin:17-jdk AS plugin
ARG ES_VERSION
COPY --from=es /usr/share/elasticsearch/lib /es/lib
COPY devstack/es_plugin /src
RUN set -eu; \
    mkdir -p /out/classes; \
    javac --release 17 -cp "/es/lib/*" -d /out/classes $(find /src/src -name '*.java'); \
    jar cf /out/foi-analysis.jar -C /out/classes .; \
    sed -e 's/${version}/1.0.0/' -e 's/${name}/foi-analysis/' -e 's/${javaVersion}/17/' \
        -e "s/\${elasticsearchVersion}/${ES_VERSION}/" \
        /src/stable-plugin-descriptor.properties > /out/stable-plugin-descriptor.properties; \
    cp /src/named_components.json /out/; \
    cd /out && jar cfM foi-analysis.zip foi-analysis.jar stable-plugin-descriptor.properties \
        named_components.json

FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}
COPY --from=plugin /out/foi-analysis.zip /tmp/foi-analysis.zip
RUN bin/elasticsearch-plugin install --batch file:///tmp/foi-analysis.zip \
    && rm /tmp/foi-analysis.zip
