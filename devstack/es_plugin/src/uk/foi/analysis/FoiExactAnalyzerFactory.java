package uk.foi.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Analyzer {@code foi_exact}: standard tokenizer, lowercase, ASCII folding; no stemming, no stop
 * words. For exact subfields and exact phrase search.
 */
@NamedComponent("foi_exact")
public class FoiExactAnalyzerFactory implements AnalyzerFactory {

    @Override
    public Analyzer create() {
        return new FoiExactAnalyzer();
    }

    static final class FoiExactAnalyzer extends Analyzer {
        @Override
        protected TokenStreamComponents createComponents(String fieldName) {
            StandardTokenizer source = new StandardTokenizer();
            return new TokenStreamComponents(source, Chains.fold(source));
        }

        @Override
        protected TokenStream normalize(String fieldName, TokenStream in) {
            return Chains.fold(in);
        }
    }
}
