"""Rate budgets: one row per bucket (an organisation), shared by every worker and replica."""

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class RateBudget(Base):
    """A GCRA bucket: ``tat_ns`` is its theoretical arrival time (nanoseconds since the epoch), the
    moment its budget would be whole again; a take of cost n moves it n / rate seconds on."""

    __tablename__ = "rate_budgets"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat_ns: Mapped[int] = mapped_column(BigInteger)
