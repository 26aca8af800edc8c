"""Answering a question over a loaded index, stage by stage:

    question ─► analysis.QuestionAnalyzer.analyse ─► AnalysedQuestion (once: normalised, tokenised,
                translated, its concepts, what kind of question it is)
             ─► signals: DenseSignal twice (e5 and the cross-lingual USE, each its vector store),
                LexicalSignal (BM25, Chinese tokens), GlossSignal (BM25, English glosses)
                ─► one score per clause group each
             ─► fusion.features ─► one feature row per group (the signals scaled and ranked,
                support, heading, date, title, the genre it names against each document's genre,
                each document's best clause) ─► Fusion.rank (the fitted weights, one set per
                language) ─► Fusion.confidence (does the top answer at all?)
             ─► answer.count_answer (a "how many" question's number, and who agrees)

`search.Searcher` runs the pipeline; the service holds one per published index.
"""

from index.query.search import Hit, Searcher, SearchResult

__all__ = ["Hit", "SearchResult", "Searcher"]
