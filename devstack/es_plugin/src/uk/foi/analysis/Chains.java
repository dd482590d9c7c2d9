package uk.foi.analysis;

import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;

/** The token-filter chains shared by the FOI analyzers, in one place so they cannot drift. */
final class Chains {
    private Chains() {}

    /** Case and accent folding: what both analyzers do, and all a normalizer may do. */
    static TokenStream fold(TokenStream in) {
        return new ASCIIFoldingFilter(new LowerCaseFilter(in));
    }

    /**
     * English analysis without stop-word removal: possessive "'s" dropped, folded, Porter-stemmed.
     * Stop words are kept on purpose: FOI officers search for phrases containing "not" and "the".
     */
    static TokenStream english(TokenStream in) {
        return new PorterStemFilter(fold(new EnglishPossessiveFilter(in)));
    }
}
