"""Explainable supply–demand matching of the technology market.

- `keyterms`: a text's key terms — segmented as the search index segments (jieba via
  rjieba), stop words removed, weighted by TF-IDF with the document frequencies of the
  live Tantivy index;
- `scoring`: one score in [0, 1] for a (demand, listing) pair from five factors — text
  relevance, field agreement, maturity fit, budget vs asking price and a small same-region
  bonus — each reported as a reason;
- `matcher`: listings (and their providers) for a demand, retrieved from the search index
  and re-ranked by `scoring`; and open demands for a listing, found through the demands'
  stored key terms and scored the same way.
"""
