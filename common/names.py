"""Names both sides must agree on: training and serving, batch and online, writer and reader.

Change a value here and every stage follows; never spell these strings anywhere else.
"""

from typing import Final

MODEL_NAME: Final = "churnguard"
CHAMPION_ALIAS: Final = "champion"
CHAMPION_URI: Final = f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}"
DEFAULT_EXPERIMENT: Final = "churnguard"
# The uplift model (how much a contact lowers churn, per playbook) has its own name and alias.
UPLIFT_MODEL_NAME: Final = "churnguard-uplift"
UPLIFT_CHAMPION_URI: Final = f"models:/{UPLIFT_MODEL_NAME}@{CHAMPION_ALIAS}"

CONTRACT_VERSION: Final = "2"

ORDERS: Final = "orders"
DELIVERIES: Final = "deliveries"
FEEDBACK: Final = "feedback"
CUSTOMERS: Final = "customers"
CONTACTS: Final = "contacts"  # outreach history: treated and control, imported or worked
INPUT_TABLES: Final = (ORDERS, DELIVERIES, FEEDBACK, CUSTOMERS, CONTACTS)

QUARANTINE_TABLE: Final = "quarantine"
INGEST_RUNS_TABLE: Final = "ingest_runs"


class ReasonCode:
    """Why a customer is at risk: the model's reason catalogue maps features to these codes, and the
    outreach playbooks map these codes to actions and teams."""

    LATE_DELIVERY: Final = "LATE_DELIVERY"
    FAILED_DELIVERY: Final = "FAILED_DELIVERY"
    RETURNED_ORDER: Final = "RETURNED_ORDER"
    ORDER_OVERDUE: Final = "ORDER_OVERDUE"  # an order promised before now and still not delivered
    LOW_RATING: Final = "LOW_RATING"
    NEGATIVE_FEEDBACK: Final = "NEGATIVE_FEEDBACK"  # angry or sad review / ticket text
    SUPPORT_TICKETS: Final = "SUPPORT_TICKETS"
    CANCELLED_ORDERS: Final = "CANCELLED_ORDERS"
    OVERDUE_VS_USUAL_GAP: Final = (
        "OVERDUE_VS_USUAL_GAP"  # "no order for 140 days, usually every 35"
    )
    LONG_INACTIVE: Final = "LONG_INACTIVE"
    DECLINING_ACTIVITY: Final = "DECLINING_ACTIVITY"
    FEW_ORDERS: Final = "FEW_ORDERS"  # new or one-off customer, not yet attached

    ALL: Final = (
        LATE_DELIVERY,
        FAILED_DELIVERY,
        RETURNED_ORDER,
        ORDER_OVERDUE,
        LOW_RATING,
        NEGATIVE_FEEDBACK,
        SUPPORT_TICKETS,
        CANCELLED_ORDERS,
        OVERDUE_VS_USUAL_GAP,
        LONG_INACTIVE,
        DECLINING_ACTIVITY,
        FEW_ORDERS,
    )
