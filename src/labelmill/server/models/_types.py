"""Column helpers shared by the model modules."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# 64-bit ids on PostgreSQL; SQLite needs exactly INTEGER for its rowid alias (autoincrement).
IdType = BigInteger().with_variant(Integer(), "sqlite")
