"""Rules every text and number field of an event or API body shares."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt

# PostgreSQL refuses NUL in text; a field carrying one is refused at the door, named, with
# nothing stored (finding 8 of issue 12). The pattern documents the rule in the JSON Schema.
NO_NUL_PATTERN = "^[^\\u0000]*$"
# The largest id the tables' INTEGER columns hold on PostgreSQL (SQLite's hold 2^63-1): a larger
# one is a 422 naming the field, not an overflow in the database driver.
MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


# A text field that is stripped must hold something once stripped: no NUL, and at least one
# character that is not white space, so "\r" is refused by the schema as by the model.
TEXT_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"

NoNul = AfterValidator(_no_nul)
NoNulSchema = Field(json_schema_extra={"pattern": NO_NUL_PATTERN})
TextSchema = Field(json_schema_extra={"pattern": TEXT_PATTERN})


def _whole(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer; strict pydantic would refuse it while the schema allows it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After the bounds in ``Annotated`` (before them, pydantic writes ``ge``/``le`` into the schema verbatim).
Whole = BeforeValidator(_whole)
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID), Whole]
Version = Annotated[StrictInt, Field(ge=0, le=MAX_ID), Whole]
