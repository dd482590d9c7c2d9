package uk.foi.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Analyzer {@code foi_english}: standard tokenizer, English possessive, lowercase, ASCII folding,
 * Porter stemming. No stop words.
 */
@NamedComponent("foi_english")
public class FoiEnglishAnalyzerFactory implements AnalyzerFactory {

    @Override
    public Analyzer create() {
        return new FoiEnglishAnalyzer();
    }

    static final class FoiEnglishAnalyzer extends Analyzer {
        @Override
        protected TokenStreamComponents createComponents(String fieldName) {
            StandardTokenizer source = new StandardTokenizer();
            return new TokenStreamComponents(source, Chains.english(source));
        }

        /** Wildcard, prefix and fuzzy query terms are folded like indexed terms, never stemmed. */
        @Override
        protected TokenStream normalize(String fieldName, TokenStream in) {
            return Chains.fold(in);
        }
    }
}
