package uk.foi.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code foi_porter_stem}: Lucene's Porter stemmer (expects lowercased input). */
@NamedComponent("foi_porter_stem")
public class FoiPorterStemTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new PorterStemFilter(tokenStream);
    }
    // normalize(): the interface default (identity) is right: stemming is not normalization.
}
