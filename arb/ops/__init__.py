"""Operations tools on top of the engine: record and replay market data, status views."""
