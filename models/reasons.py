"""The reason catalogue: which features can explain a customer's risk, under which code, in which words.

A feature that pushed risk up but has no rule here, or whose rule does not apply to this customer's
values (e.g. `late_deliveries_90d` is 0), gives no reason: a sentence must be true of the customer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

from common.names import ReasonCode

REASON_CATALOGUE_VERSION = "2"  # 2: every sentence in English and Japanese
LANGUAGES = ("en", "ja")  # every reason is said in each of these; others fall back to English

Values = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one customer is at risk: a code the playbooks understand and a sentence an agent can read."""

    code: str  # a common.names.ReasonCode value
    feature: str  # the feature whose contribution this reason explains
    sentence: (
        str  # filled from the customer's own values, e.g. "2 late deliveries in the last 90 days"
    )
    value: float  # the customer's value of `feature`
    contribution: float  # how much the feature raised the risk, in log-odds (TreeSHAP)
    sentences: dict[str, str] = field(default_factory=dict)  # language -> the sentence in it

    def sentence_in(self, language: str) -> str:
        """The sentence in `language` (its primary subtag), English where the catalogue lacks it."""
        return self.sentences.get(language.split("-")[0].lower(), self.sentence)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ReasonRule:
    """How one feature becomes a reason: the code, when it is true of a customer, and its sentence."""

    feature: str
    code: str
    applies: Callable[[Values], bool]
    sentence: Callable[[Values], str]
    topic: str = ""  # reasons sharing a topic state one fact: a customer gets at most one of them
    ja: Callable[[Values], str] | None = None  # the same sentence in Japanese

    @property
    def fact(self) -> str:
        return self.topic or self.code

    @property
    def sentences(self) -> dict[str, Callable[[Values], str] | None]:
        """The sentence in every language of `LANGUAGES` (None: missing, which a test forbids)."""
        return {"en": self.sentence, "ja": self.ja}


def _known(values: Values, name: str) -> bool:
    value = values.get(name)
    return value is not None and not math.isnan(value)


def _at_least(name: str, threshold: float) -> Callable[[Values], bool]:
    return lambda v: _known(v, name) and v[name] >= threshold


def _at_most(name: str, threshold: float) -> Callable[[Values], bool]:
    return lambda v: _known(v, name) and v[name] <= threshold


def _count(n: float, singular: str, plural: str | None = None) -> str:
    n = round(n)
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _days(n: float) -> str:
    return _count(n, "day")


def _stars(n: float) -> str:
    return _count(n, "star")


def _silence_and_gap(v: Values) -> tuple[float, int] | None:
    """Days since the last order and the usual gap (at least 1), when both are known: the facts
    every language's overdue sentence states."""
    since, usual = v.get("days_since_last_order"), v.get("usual_gap_days")
    if since is not None and usual is not None and not math.isnan(since) and not math.isnan(usual):
        return since, max(round(usual), 1)
    return None


def _far_past_usual(v: Values) -> bool:
    """Silent for more than twice the usual gap: an inactive customer's sentence says the gap."""
    usual = v.get("usual_gap_days")
    return usual is not None and not math.isnan(usual) and v["days_since_last_order"] > 2 * usual


def _overdue_sentence(v: Values) -> str:
    known = _silence_and_gap(v)
    if known is not None:
        return f"no order for {_days(known[0])}, usually every {known[1]}"
    return "later than usual for their next order"


def _inactive_sentence(v: Values) -> str:
    if _far_past_usual(v):
        return _overdue_sentence(v)
    return f"no order for {_days(v['days_since_last_order'])}"


def _declining_sentence(v: Values) -> str:
    return (
        f"{_count(v['orders_90d'], 'order')} in the last 90 days, "
        f"against {_count(v['orders_365d'], 'order')} in the last year"
    )


def _slowing_sentence(v: Values) -> str:
    prior = v["orders_180d"] - v["orders_90d"]
    return (
        f"{_count(v['orders_90d'], 'order')} in the last 90 days, "
        f"down from {_count(prior, 'order')} in the 90 days before"
    )


def _late(n: float) -> str:
    return _count(n, "late delivery", "late deliveries")


def _failed(n: float) -> str:
    return _count(n, "failed delivery", "failed deliveries")


def _negative(n: float) -> str:
    return _count(n, "unhappy review or message", "unhappy reviews or messages")


def _n(n: float) -> int:
    return round(n)


def _ja_overdue(v: Values) -> str:
    known = _silence_and_gap(v)
    if known is not None:
        return f"{_n(known[0])}日間ご注文がありません(いつもは{known[1]}日ごと)"
    return "次のご注文がいつもより遅れています"


def _ja_inactive(v: Values) -> str:
    if _far_past_usual(v):
        return _ja_overdue(v)
    return f"{_n(v['days_since_last_order'])}日間ご注文がありません"


def _has(*names: str) -> Callable[[Values], bool]:
    return lambda v: all(_known(v, n) for n in names)


def _both(*tests: Callable[[Values], bool]) -> Callable[[Values], bool]:
    return lambda v: all(test(v) for test in tests)


RULES: tuple[ReasonRule, ...] = (
    # orders
    ReasonRule(
        "days_since_last_order",
        ReasonCode.LONG_INACTIVE,
        _at_least("days_since_last_order", 30),
        _inactive_sentence,
        topic="silence",
        ja=_ja_inactive,
    ),
    ReasonRule(
        "days_overdue_vs_usual_gap",
        ReasonCode.OVERDUE_VS_USUAL_GAP,
        _both(_at_least("days_overdue_vs_usual_gap", 7), _has("days_since_last_order")),
        _overdue_sentence,
        topic="silence",
        ja=_ja_overdue,
    ),
    ReasonRule(
        "ratio_since_last_order_to_usual_gap",
        ReasonCode.OVERDUE_VS_USUAL_GAP,
        _both(_at_least("ratio_since_last_order_to_usual_gap", 1.5), _has("days_since_last_order")),
        _overdue_sentence,
        topic="silence",
        ja=_ja_overdue,
    ),
    ReasonRule(
        "recency_over_tenure",
        ReasonCode.LONG_INACTIVE,
        _both(_at_least("recency_over_tenure", 0.5), _at_least("days_since_last_order", 30)),
        _inactive_sentence,
        topic="silence",
        ja=_ja_inactive,
    ),
    ReasonRule(
        "orders_total",
        ReasonCode.FEW_ORDERS,
        _at_most("orders_total", 1),
        lambda v: "a one-off customer: a single order so far",
        ja=lambda v: "これまでのご注文は1回のみです",
    ),
    ReasonRule(
        "orders_365d",
        ReasonCode.FEW_ORDERS,
        _at_most("orders_365d", 1),
        lambda v: f"only {_count(v['orders_365d'], 'order')} in the last year",
        ja=lambda v: f"この1年のご注文は{_n(v['orders_365d'])}件のみです",
    ),
    ReasonRule(
        "order_rate_trend_90d_vs_365d",
        ReasonCode.DECLINING_ACTIVITY,
        _both(
            _at_most("order_rate_trend_90d_vs_365d", 0.75),
            _at_least("orders_365d", 3),
            _has("orders_90d"),
        ),
        _declining_sentence,
        ja=lambda v: (
            f"直近90日のご注文は{_n(v['orders_90d'])}件で、この1年では{_n(v['orders_365d'])}件です"
        ),
    ),
    ReasonRule(
        "orders_change_90d_vs_prior_90d",
        ReasonCode.DECLINING_ACTIVITY,
        _both(_at_most("orders_change_90d_vs_prior_90d", -1), _has("orders_90d", "orders_180d")),
        _slowing_sentence,
        ja=lambda v: (
            f"直近90日のご注文は{_n(v['orders_90d'])}件で、その前の90日の{_n(v['orders_180d'] - v['orders_90d'])}件から減っています"
        ),
    ),
    ReasonRule(
        "spend_trend_90d_vs_365d",
        ReasonCode.DECLINING_ACTIVITY,
        _both(_at_most("spend_trend_90d_vs_365d", 0.5), _has("spend_90d", "spend_365d")),
        lambda v: (
            f"spent {v['spend_90d']:.0f} in the last 90 days, against {v['spend_365d']:.0f} in the last year"
        ),
        ja=lambda v: (
            f"直近90日のご購入額は{v['spend_90d']:.0f}で、この1年では{v['spend_365d']:.0f}です"
        ),
    ),
    ReasonRule(
        "cancelled_orders_365d",
        ReasonCode.CANCELLED_ORDERS,
        _at_least("cancelled_orders_365d", 1),
        lambda v: f"{_count(v['cancelled_orders_365d'], 'cancelled order')} in the last year",
        ja=lambda v: f"この1年でキャンセルされたご注文が{_n(v['cancelled_orders_365d'])}件あります",
    ),
    ReasonRule(
        "share_cancelled_orders_365d",
        ReasonCode.CANCELLED_ORDERS,
        _at_least("share_cancelled_orders_365d", 0.2),
        lambda v: (
            f"{v['share_cancelled_orders_365d']:.0%} of orders in the last year were cancelled"
        ),
        ja=lambda v: (
            f"この1年のご注文の{v['share_cancelled_orders_365d']:.0%}がキャンセルされました"
        ),
    ),
    ReasonRule(
        "returned_orders_365d",
        ReasonCode.RETURNED_ORDER,
        _at_least("returned_orders_365d", 1),
        lambda v: f"{_count(v['returned_orders_365d'], 'returned order')} in the last year",
        ja=lambda v: f"この1年で返品されたご注文が{_n(v['returned_orders_365d'])}件あります",
    ),
    ReasonRule(
        "share_returned_orders_365d",
        ReasonCode.RETURNED_ORDER,
        _at_least("share_returned_orders_365d", 0.2),
        lambda v: f"{v['share_returned_orders_365d']:.0%} of orders in the last year were returned",
        ja=lambda v: f"この1年のご注文の{v['share_returned_orders_365d']:.0%}が返品されました",
    ),
    # deliveries
    ReasonRule(
        "late_deliveries_90d",
        ReasonCode.LATE_DELIVERY,
        _at_least("late_deliveries_90d", 1),
        lambda v: f"{_late(v['late_deliveries_90d'])} in the last 90 days",
        ja=lambda v: f"直近90日で配送の遅れが{_n(v['late_deliveries_90d'])}件ありました",
    ),
    ReasonRule(
        "late_deliveries_365d",
        ReasonCode.LATE_DELIVERY,
        _at_least("late_deliveries_365d", 1),
        lambda v: f"{_late(v['late_deliveries_365d'])} in the last year",
        ja=lambda v: f"この1年で配送の遅れが{_n(v['late_deliveries_365d'])}件ありました",
    ),
    ReasonRule(
        "share_late_deliveries_365d",
        ReasonCode.LATE_DELIVERY,
        _at_least("share_late_deliveries_365d", 0.2),
        lambda v: (
            f"{v['share_late_deliveries_365d']:.0%} of deliveries in the last year arrived late"
        ),
        ja=lambda v: (
            f"この1年の配送の{v['share_late_deliveries_365d']:.0%}がお約束の日より遅れて届きました"
        ),
    ),
    ReasonRule(
        "mean_days_late_365d",
        ReasonCode.LATE_DELIVERY,
        _at_least("mean_days_late_365d", 0.5),
        lambda v: (
            f"deliveries in the last year arrived {v['mean_days_late_365d']:.1f} days late on average"
        ),
        ja=lambda v: f"この1年の配送は平均{v['mean_days_late_365d']:.1f}日遅れて届きました",
    ),
    ReasonRule(
        "max_days_late_90d",
        ReasonCode.LATE_DELIVERY,
        _at_least("max_days_late_90d", 1),
        lambda v: f"a delivery arrived {_days(v['max_days_late_90d'])} late in the last 90 days",
        ja=lambda v: f"直近90日に、お届けが{_n(v['max_days_late_90d'])}日遅れたご注文がありました",
    ),
    ReasonRule(
        "max_days_late_365d",
        ReasonCode.LATE_DELIVERY,
        _at_least("max_days_late_365d", 1),
        lambda v: f"a delivery arrived {_days(v['max_days_late_365d'])} late in the last year",
        ja=lambda v: f"この1年に、お届けが{_n(v['max_days_late_365d'])}日遅れたご注文がありました",
    ),
    ReasonRule(
        "days_late_last_order",
        ReasonCode.LATE_DELIVERY,
        _at_least("days_late_last_order", 1),
        lambda v: (
            f"latest order {_days(v['days_late_last_order'])} behind its promised delivery day"
        ),
        ja=lambda v: f"最新のご注文はお約束の日より{_n(v['days_late_last_order'])}日遅れました",
    ),
    ReasonRule(
        "days_since_last_late_delivery",
        ReasonCode.LATE_DELIVERY,
        _at_most("days_since_last_late_delivery", 180),
        lambda v: f"a late delivery {_days(v['days_since_last_late_delivery'])} ago",
        ja=lambda v: f"{_n(v['days_since_last_late_delivery'])}日前に配送の遅れがありました",
    ),
    ReasonRule(
        "failed_deliveries_90d",
        ReasonCode.FAILED_DELIVERY,
        _at_least("failed_deliveries_90d", 1),
        lambda v: f"{_failed(v['failed_deliveries_90d'])} in the last 90 days",
        ja=lambda v: (
            f"直近90日でお届けできなかった配送が{_n(v['failed_deliveries_90d'])}件ありました"
        ),
    ),
    ReasonRule(
        "failed_deliveries_365d",
        ReasonCode.FAILED_DELIVERY,
        _at_least("failed_deliveries_365d", 1),
        lambda v: f"{_failed(v['failed_deliveries_365d'])} in the last year",
        ja=lambda v: (
            f"この1年でお届けできなかった配送が{_n(v['failed_deliveries_365d'])}件ありました"
        ),
    ),
    ReasonRule(
        "open_overdue_orders",
        ReasonCode.ORDER_OVERDUE,
        _at_least("open_overdue_orders", 1),
        lambda v: (
            f"{_count(v['open_overdue_orders'], 'order')} past the promised day and not delivered"
        ),
        ja=lambda v: (
            f"お約束の日を過ぎてもまだ届いていないご注文が{_n(v['open_overdue_orders'])}件あります"
        ),
    ),
    ReasonRule(
        "days_overdue_oldest_open_order",
        ReasonCode.ORDER_OVERDUE,
        _at_least("days_overdue_oldest_open_order", 1),
        lambda v: (
            f"an order {_days(v['days_overdue_oldest_open_order'])} past its promised day, still not delivered"
        ),
        ja=lambda v: (
            f"お約束の日を{_n(v['days_overdue_oldest_open_order'])}日過ぎても届いていないご注文があります"
        ),
    ),
    # feedback
    ReasonRule(
        "last_rating",
        ReasonCode.LOW_RATING,
        _at_most("last_rating", 3),
        lambda v: f"last review {_stars(v['last_rating'])}",
        ja=lambda v: f"最新のレビューは星{_n(v['last_rating'])}つでした",
    ),
    ReasonRule(
        "worst_rating_90d",
        ReasonCode.LOW_RATING,
        _at_most("worst_rating_90d", 3),
        lambda v: f"a {_stars(v['worst_rating_90d'])} review in the last 90 days",
        ja=lambda v: f"直近90日に星{_n(v['worst_rating_90d'])}つのレビューがありました",
    ),
    ReasonRule(
        "mean_rating_365d",
        ReasonCode.LOW_RATING,
        _at_most("mean_rating_365d", 3.5),
        lambda v: f"average review {v['mean_rating_365d']:.1f} stars in the last year",
        ja=lambda v: f"この1年のレビューの平均は星{v['mean_rating_365d']:.1f}です",
    ),
    ReasonRule(
        "mean_text_sentiment_365d",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_most("mean_text_sentiment_365d", -0.05),
        lambda v: "reviews and messages in the last year sound unhappy",
        ja=lambda v: "この1年のレビューやメッセージからご不満がうかがえます",
    ),
    ReasonRule(
        "min_text_sentiment_90d",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_most("min_text_sentiment_90d", -0.3),
        lambda v: "an angry or upset message in the last 90 days",
        ja=lambda v: "直近90日に、お怒りやお困りのメッセージがありました",
    ),
    ReasonRule(
        "last_text_sentiment",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_most("last_text_sentiment", -0.3),
        lambda v: "their latest review or message sounds unhappy",
        ja=lambda v: "最新のレビューまたはメッセージからご不満がうかがえます",
    ),
    ReasonRule(
        "negative_feedback_90d",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_least("negative_feedback_90d", 1),
        lambda v: f"{_negative(v['negative_feedback_90d'])} in the last 90 days",
        ja=lambda v: (
            f"直近90日にご不満のレビューやメッセージが{_n(v['negative_feedback_90d'])}件ありました"
        ),
    ),
    ReasonRule(
        "negative_feedback_365d",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_least("negative_feedback_365d", 1),
        lambda v: f"{_negative(v['negative_feedback_365d'])} in the last year",
        ja=lambda v: (
            f"この1年でご不満のレビューやメッセージが{_n(v['negative_feedback_365d'])}件ありました"
        ),
    ),
    ReasonRule(
        "share_negative_feedback_365d",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_least("share_negative_feedback_365d", 0.25),
        lambda v: (
            f"{v['share_negative_feedback_365d']:.0%} of their feedback in the last year was unhappy"
        ),
        ja=lambda v: (
            f"この1年のご意見の{v['share_negative_feedback_365d']:.0%}がご不満の内容でした"
        ),
    ),
    ReasonRule(
        "days_since_last_negative_feedback",
        ReasonCode.NEGATIVE_FEEDBACK,
        _at_most("days_since_last_negative_feedback", 180),
        lambda v: f"unhappy feedback {_days(v['days_since_last_negative_feedback'])} ago",
        ja=lambda v: (
            f"{_n(v['days_since_last_negative_feedback'])}日前にご不満のご意見がありました"
        ),
    ),
    ReasonRule(
        "support_tickets_90d",
        ReasonCode.SUPPORT_TICKETS,
        _at_least("support_tickets_90d", 1),
        lambda v: f"{_count(v['support_tickets_90d'], 'support ticket')} in the last 90 days",
        ja=lambda v: f"直近90日にお問い合わせが{_n(v['support_tickets_90d'])}件ありました",
    ),
)

RULES_BY_FEATURE: dict[str, ReasonRule] = {rule.feature: rule for rule in RULES}


def reason_for(feature: str, values: Values, contribution: float) -> Reason | None:
    """The reason a feature gives for this customer, or None when no true sentence can be said."""
    rule = RULES_BY_FEATURE.get(feature)
    if rule is None or not rule.applies(values):
        return None
    return _reason(rule, values, contribution)


def fact_of(feature: str) -> str:
    """What a feature's reason is about; two reasons about the same fact are one too many."""
    rule = RULES_BY_FEATURE.get(feature)
    return feature if rule is None else rule.fact


def _reason(rule: ReasonRule, values: Values, contribution: float) -> Reason:
    feature = rule.feature
    return Reason(
        code=rule.code,
        feature=feature,
        sentence=rule.sentence(values),
        value=float(values[feature]),
        contribution=float(contribution),
        sentences={lang: say(values) for lang, say in rule.sentences.items() if say is not None},
    )
