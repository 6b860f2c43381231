"""Update and condition expressions for DynamoDB writes, with every name and value a placeholder.

Conditions are ``boto3.dynamodb.conditions`` objects (``Attr("state").is_in(...)``), but
boto3 cannot take them inside ``TransactWriteItems`` (it hoists their placeholders to the top
level of the request, where a transaction has none), so each write builds its own here and
the same code serves single writes and transactions. Names always go through placeholders:
many attribute names of the hub (``status``, ``state``, ``name``, ``size``, ``role``...) are
reserved words.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, ConditionExpressionBuilder


class Expression:
    """Collects ``SET``/``REMOVE``/``ADD`` clauses and a condition for one write action.

    For example ``e.set("state", "running")`` then ``e.where(Attr("state").eq("queued"))``;
    ``e.parts()`` gives the keyword arguments to pass to ``update_item`` or to put into a
    transaction's ``Update``.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, Any] = {}
        self._set: list[str] = []
        self._remove: list[str] = []
        self._add: list[str] = []
        self._conditions: list[str] = []
        # One builder per expression: its placeholders (#n0, :v0...) never repeat within it
        # and never meet the #a/:a ones of the update clauses.
        self._builder = ConditionExpressionBuilder()

    def name(self, attribute: str) -> str:
        """The placeholder of an attribute name (the same one each time it is asked for)."""
        for placeholder, known in self._names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#a{len(self._names)}"
        self._names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":a{len(self._values)}"
        self._values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> None:
        """``SET`` the attribute, or ``REMOVE`` it when ``value`` is None."""
        if value is None:
            self.remove(attribute)
        else:
            self._set.append(f"{self.name(attribute)} = {self.value(value)}")

    def copy(self, attribute: str, source: str) -> None:
        """``SET attribute = source``: copy another attribute of the same item."""
        self._set.append(f"{self.name(attribute)} = {self.name(source)}")

    def remove(self, attribute: str) -> None:
        self._remove.append(self.name(attribute))

    def add(self, attribute: str, amount: int) -> None:
        self._add.append(f"{self.name(attribute)} {self.value(amount)}")

    def where(self, condition: ConditionBase) -> None:
        """AND ``condition`` into the write's guard."""
        built = self._builder.build_expression(condition)
        self._names.update(built.attribute_name_placeholders)
        self._values.update(built.attribute_value_placeholders)
        self._conditions.append(f"({built.condition_expression})")

    def exists(self) -> None:
        """Guard: the item exists (an update must not create it)."""
        self.where(Attr("pk").exists())

    def absent(self) -> None:
        """Guard: the item does not exist (a put must not overwrite it)."""
        self.where(Attr("pk").not_exists())

    def parts(self) -> dict[str, Any]:
        """The ``UpdateExpression`` / ``ConditionExpression`` / placeholder keyword arguments."""
        clauses = [
            f"{verb} {', '.join(items)}"
            for verb, items in (("SET", self._set), ("REMOVE", self._remove), ("ADD", self._add))
            if items
        ]
        parts: dict[str, Any] = {}
        if clauses:
            parts["UpdateExpression"] = " ".join(clauses)
        if self._conditions:
            parts["ConditionExpression"] = " AND ".join(self._conditions)
        if self._names:
            parts["ExpressionAttributeNames"] = dict(self._names)
        if self._values:
            parts["ExpressionAttributeValues"] = dict(self._values)
        return parts


def only_if_new() -> Expression:
    """The guard of a put that must not overwrite: ``attribute_not_exists(pk)``."""
    guard = Expression()
    guard.absent()
    return guard
