"""A tiny shop used as test data for the LangChain retriever."""
