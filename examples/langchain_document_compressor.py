"""Compress retrieved documents to what the question needs, inside a ContextualCompressionRetriever.

Runs offline with the embedded LocalCompressor. For the hosted service pass
``compressor=ScaleDownCompressor()`` (with ``SCALEDOWN_API_KEY`` set).
"""

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_community.retrievers import BM25Retriever
from langchain_core.documents import Document

from langchain_scaledown import ScaleDownDocumentCompressor

documents = [
    Document(
        id="hubble",
        page_content=(
            "Edwin Hubble was an American astronomer born in 1889 in Marshfield, Missouri. "
            "He studied law at Oxford before returning to astronomy. "
            "In 1929 he showed that galaxies recede at speeds proportional to their distance. "
            "The Hubble constant measures the present expansion rate of the universe. "
            "Its value is about 70 kilometres per second per megaparsec. "
            "He died in 1953 in San Marino, California."
        ),
        metadata={"source": "hubble.txt"},
    ),
    Document(
        id="telescope",
        page_content=(
            "The Hubble Space Telescope orbits the Earth at about 540 kilometres. "
            "It was launched by the shuttle Discovery in April 1990. "
            "A flaw in its primary mirror blurred the first images and was corrected in 1993. "
            "Five servicing missions replaced gyroscopes, cameras and batteries. "
            "The telescope measured distances to Cepheid stars that fix the Hubble constant."
        ),
        metadata={"source": "telescope.txt"},
    ),
]

retriever = ContextualCompressionRetriever(
    base_compressor=ScaleDownDocumentCompressor(max_tokens=60),  # all documents together: <= 60 tokens
    base_retriever=BM25Retriever.from_documents(documents, k=2),
)

for doc in retriever.invoke("Which flaw in the primary mirror of the Hubble telescope blurred its first images?"):
    print(doc.id, doc.metadata["original_tokens"], "->", doc.metadata["compressed_tokens"], "tokens")
    print("   ", doc.page_content)
