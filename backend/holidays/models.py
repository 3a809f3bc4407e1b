"""China's official holiday schedule, one row per year, as the platform operator enters it from the State Council's
notice (国务院办公厅关于…部分节假日安排的通知). Global table (no RLS): every bureau works on the same national
calendar. A year without a row is taken from the chinese-calendar package when it knows the year."""

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Date, Integer
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from backend.core.models import timestamp_field


class HolidayYear(SQLModel, table=True):
    """The days off (holidays, weekends inside them included) and the make-up working days (调休上班) of a year."""

    __tablename__ = "holiday_years"
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    notice: str = Field(default="", max_length=100)  # e.g. 国办发明电〔2026〕7号
    days_off: list[date] = Field(default_factory=list, sa_column=Column(ARRAY(Date), nullable=False))
    workdays: list[date] = Field(default_factory=list, sa_column=Column(ARRAY(Date), nullable=False))
    updated_at: datetime = timestamp_field()
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
