"""The hub's one DynamoDB table: its key schema, its indexes and every item type stored in it.

Base keys are the strings ``pk`` (hash) and ``sk`` (range). Four overloaded global secondary
indexes, all projecting every attribute, serve the listings; an index key attribute is only
written on the items that belong in that index (sparse indexes). ``expires_at`` is the TTL
attribute (a number, epoch seconds); every exact time is kept beside it as ISO text.

Keys below: ``<created>`` is fixed-width ISO 8601 UTC text (text order is time order),
``<name>`` is ``name + U+0001 + id`` (the display names stored never hold control
characters, so U+0001 sorts below every character of a name and ties go by id).

item             pk / sk                     index keys: gsiN pk / sk                     TTL
---------------  --------------------------  -------------------------------------------  ------
user             USER#<id> / USER            -                                            -
email claim      EMAIL#<email> / EMAIL       -                                            -
refresh token    REFRESH#<id> / REFRESH      gsi1 FAMILY#<f> / REFRESH#<id>               expiry
                                             gsi3 USER#<u>#AUTH / REFRESH#<id>
refresh family   FAMILY#<f> / FAMILY         gsi3 USER#<u>#AUTH / FAMILY#<f>              newest
one-time token   ONCE#<hash> / ONCE          gsi3 USER#<u>#AUTH / ONCE#<hash>             expiry
project          PROJECT#<p> / PROJECT       -                                            -
member           PROJECT#<p> / MEMBER#<u>    gsi1 USER#<u>#PROJECTS / <p created>#<p>     -
image            IMAGE#<id> / IMAGE          gsi1 PROJECT#<p>#IMAGES / <created>#<id>     -
                                             gsi2 PROJECT#<p>#IMAGES / <name>
                                             gsi3 PROJECT#<p>#STATUS#<s> / <created>#<id>
                                             gsi4 PROJECT#<p>#STATUS#<s> / <name>
version          IMAGE#<id> / VERSION#<n>    -                                            -
model result     IMAGE#<id> / JOB#<job>      -                                            -
job              JOB#<id> / JOB              gsi1 PROJECT#<p>#JOBS / <created>#<id>       -
                                             gsi3 PROJECT#<p>#ACTIVE_JOBS / <created>#<id>
                                             (only while queued or running)
job outcome      JOB#<id> / OUTCOME#<image>  -                                            -
export           EXPORT#<id> / EXPORT        gsi1 PROJECT#<p>#EXPORTS / <created>#<id>    expiry
export id chunk  EXPORT#<id> / IDS#<n>       -                                            expiry
live connection  WSCONN#<c> / CONNECTION     - (see ``dynamodb_connections``)             2h15
                 WSCONN#<c> / SUB#<p>
                 LIVE#<p> / CONN#<c>
                 LIVEUSER#<u> / CONN#<c>

Attributes (beside the keys): user ``id email password_hash email_verified created_at
display_name``; email claim ``user_id``; refresh token ``id family_id user_id token_hash
expiry used_at revoked_at``; family ``user_id revoked_at``; one-time token ``id user_id
purpose token_hash expiry used_at``; project ``id name owner_id created_at settings owners``
(``owners`` counts the owner members, for the last-owner guard); member ``project_id user_id
role``; image every ``Image`` field (absent means None); version every
``SegmentationVersion`` field (a blob key and counts, never polygons); model result mark
``version``; job ``id project_id kind model threshold options(JSON) state total done failed
created_by created_at`` plus ``active_pk``/``active_sk``, the gsi3 keys it carries while
active; outcome ``failed``; export every ``Export`` field except ``image_ids``, which sit in
the item when small and in ``IDS#<n>`` chunk items otherwise (``image_id_chunks`` counts
them) and ``expiry`` beside the TTL. ``<n>`` is zero-padded to ten digits so text order is
number order.
"""

from __future__ import annotations

from typing import Any

HUB_TABLE_KEYS = ("pk", "sk")
TTL_ATTRIBUTE = "expires_at"
# (index name, partition key attribute, sort key attribute); every key is a string.
HUB_TABLE_INDEXES: tuple[tuple[str, str, str], ...] = (
    ("gsi1", "gsi1pk", "gsi1sk"),
    ("gsi2", "gsi2pk", "gsi2sk"),
    ("gsi3", "gsi3pk", "gsi3sk"),
    ("gsi4", "gsi4pk", "gsi4sk"),
)


def hub_table_definition(name: str) -> dict[str, Any]:
    """The ``create_table`` keyword arguments of the hub table (the CDK stack mirrors them)."""
    key_names = list(HUB_TABLE_KEYS) + [key for _, pk, sk in HUB_TABLE_INDEXES for key in (pk, sk)]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in key_names],
        "KeySchema": [
            {"AttributeName": HUB_TABLE_KEYS[0], "KeyType": "HASH"},
            {"AttributeName": HUB_TABLE_KEYS[1], "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, pk, sk in HUB_TABLE_INDEXES
        ],
    }


def create_hub_table(dynamodb_resource: Any, name: str) -> Any:
    """Create the table, wait until it is active, enable TTL; return the ``Table`` resource."""
    table = dynamodb_resource.create_table(**hub_table_definition(name))
    table.wait_until_exists()
    table.meta.client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return table
