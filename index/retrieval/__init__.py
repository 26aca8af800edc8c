"""The text side of retrieval, shared by builds and questions: Chinese tokens and BM25 (`lexical`),
English-to-Chinese expansion (`expansion`), English dictionary glosses of clauses (`glosses`) and
homophone correction (`homophones`). Embeddings live in `index.embedding`, vector stores in
`index.vectors`, the question pipeline in `index.query`."""
