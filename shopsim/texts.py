"""English feedback texts whose tone follows the experience, so a sentiment scorer (VADER) tracks the rating.

Each bucket is the product of an opening, a body and a closing; rows pick a combination by index, so
millions of texts cost one array `take` instead of a Python loop.
"""

from __future__ import annotations

import itertools
from enum import IntEnum

import numpy as np
import pyarrow as pa


class TextBucket(IntEnum):
    """What a text is about and how it feels; the simulator picks the bucket, this module the words."""

    REVIEW_1 = 0
    REVIEW_2 = 1
    REVIEW_3 = 2
    REVIEW_4 = 3
    REVIEW_5 = 4
    REVIEW_LOW_LATE = 5
    REVIEW_LOW_FAILED = 6
    REVIEW_LOW_RETURNED = 7
    REVIEW_GOOD_BUT_LATE = 8
    TICKET_LATE = 9
    TICKET_FAILED = 10
    TICKET_RETURNED = 11
    TICKET_QUESTION = 12
    PRAISE = 13


_PARTS: dict[TextBucket, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    TextBucket.REVIEW_1: (
        ("Terrible.", "Awful experience.", "Very disappointed.", "Worst purchase I have made."),
        (
            "The product broke after two days and feels cheap.",
            "The quality is horrible and nothing like the photos.",
            "It was damaged and useless out of the box.",
            "Poor quality, the wrong size and a waste of money.",
        ),
        ("Never again.", "I want a refund.", "Avoid this shop.", "Really angry about this."),
    ),
    TextBucket.REVIEW_2: (
        ("Disappointed.", "Not great.", "Pretty bad.", "Unhappy with this order."),
        (
            "The quality is poor and it looks worse than expected.",
            "It works, but badly, and the material feels cheap.",
            "The item was scratched and the fit is wrong.",
            "Sadly it stopped working after a week.",
        ),
        (
            "Would not recommend.",
            "Not worth the price.",
            "I expected better.",
            "Probably won't buy again.",
        ),
    ),
    TextBucket.REVIEW_3: (
        ("It's okay.", "Average.", "Mixed feelings.", "Fine, I guess."),
        (
            "The product does the job but nothing special.",
            "Delivery was normal and the item is as described.",
            "Some parts are good, some are a bit weak.",
            "It is acceptable for the price.",
        ),
        (
            "Might order again.",
            "Nothing more to say.",
            "Decent enough.",
            "We will see how it lasts.",
        ),
    ),
    TextBucket.REVIEW_4: (
        ("Good purchase.", "Happy with it.", "Nice.", "Pleased overall."),
        (
            "The quality is good and delivery was quick.",
            "Works well and looks nice, just as described.",
            "Solid product, arrived on time and well packed.",
            "Good value and easy to use.",
        ),
        ("Would recommend.", "Thanks!", "I will buy again.", "Satisfied."),
    ),
    TextBucket.REVIEW_5: (
        ("Excellent!", "Love it!", "Perfect!", "Amazing shop!"),
        (
            "Fantastic quality and super fast delivery.",
            "Exactly what I wanted, beautifully made and arrived early.",
            "Great product, great price, great service.",
            "Wonderful item, my family loves it.",
        ),
        (
            "Highly recommend!",
            "Thank you so much!",
            "Best shop ever.",
            "Will definitely buy again!",
        ),
    ),
    TextBucket.REVIEW_LOW_LATE: (
        ("Very disappointed.", "Terrible delivery.", "Frustrating.", "Awful service."),
        (
            "The parcel arrived days late with no explanation.",
            "Delivery was late and nobody answered my emails.",
            "It came a week after the promised date and the box was damaged.",
            "I waited ages, the delivery was late again.",
        ),
        ("Not ordering again.", "Unacceptable.", "I am angry and fed up.", "Poor service."),
    ),
    TextBucket.REVIEW_LOW_FAILED: (
        ("Horrible.", "Worst service ever.", "Furious.", "Scam?"),
        (
            "The order never arrived and the tracking is useless.",
            "The delivery failed and the parcel was lost.",
            "Nothing was delivered, the courier just gave up.",
            "I paid and never got my order.",
        ),
        (
            "I want my money back.",
            "Terrible, avoid.",
            "Never again.",
            "Disgusting way to treat customers.",
        ),
    ),
    TextBucket.REVIEW_LOW_RETURNED: (
        ("Disappointed.", "Bad product.", "Not happy.", "Annoying."),
        (
            "I had to send it back because it was broken.",
            "Returned it, the item was wrong and damaged.",
            "The quality was so poor that I returned it.",
            "Sent it back, it did not work at all.",
        ),
        ("The refund is slow too.", "What a waste of time.", "Would not recommend.", "Sad."),
    ),
    TextBucket.REVIEW_GOOD_BUT_LATE: (
        ("Good product.", "Nice item.", "Happy with the product.", "Great quality."),
        (
            "Delivery was a bit late, but the item itself is great.",
            "It arrived later than promised, still I love it.",
            "Slow shipping, but the quality is excellent.",
            "A few days late, but well worth the wait.",
        ),
        ("Recommended.", "Thanks.", "Would buy again.", "Good value."),
    ),
    TextBucket.TICKET_LATE: (
        ("Hello,", "Hi,", "Where is my order?", "This is ridiculous."),
        (
            "my order is late and the tracking has not moved for days.",
            "the delivery date has passed and I still have nothing.",
            "I was promised delivery days ago and I am still waiting, this is unacceptable.",
            "the parcel is late again and nobody replies, very frustrating.",
        ),
        (
            "Please fix this now.",
            "I am really annoyed.",
            "Terrible service.",
            "Cancel it if it is lost.",
        ),
    ),
    TextBucket.TICKET_FAILED: (
        ("Hello,", "Complaint:", "Unbelievable.", "I am furious."),
        (
            "the delivery failed and my parcel was sent back without any attempt.",
            "the courier says the delivery failed, I was at home all day.",
            "my order was lost and you keep ignoring me.",
            "the parcel never arrived, this is a terrible and stressful experience.",
        ),
        (
            "I want a full refund.",
            "Worst shop ever.",
            "I will dispute the payment.",
            "Angry customer.",
        ),
    ),
    TextBucket.TICKET_RETURNED: (
        ("Hello,", "Hi,", "Return request:", "Problem with my order."),
        (
            "the item arrived broken and I had to return it.",
            "I returned the product because it was wrong, where is my refund?",
            "the product was damaged, I sent it back weeks ago and still no refund.",
            "the quality was poor so I returned it, please confirm.",
        ),
        ("Disappointed.", "Please help.", "Not happy.", "This is frustrating."),
    ),
    TextBucket.TICKET_QUESTION: (
        ("Hello,", "Hi there,", "Quick question:", "Good morning,"),
        (
            "can I change the delivery address for my order?",
            "do you have this item in another colour?",
            "how do I use the discount code?",
            "could you send me the invoice for my order?",
        ),
        ("Thanks!", "Thank you.", "Have a nice day.", "Appreciate the help."),
    ),
    TextBucket.PRAISE: (
        ("Shout out to this shop!", "Love this store!", "Great experience!", "Thank you!"),
        (
            "Fast delivery and friendly support.",
            "My order arrived early and looks amazing.",
            "Best customer service, they helped me right away.",
            "Great prices and excellent quality.",
        ),
        ("Recommended!", "Happy customer.", "Will shop again.", "Brilliant."),
    ),
}


def _bucket_texts(bucket: TextBucket) -> list[str]:
    openings, bodies, closings = _PARTS[bucket]
    return [" ".join(parts) for parts in itertools.product(openings, bodies, closings)]


_TEXTS: list[list[str]] = [_bucket_texts(bucket) for bucket in TextBucket]
_OFFSETS = np.cumsum([0, *(len(texts) for texts in _TEXTS)])
_DICTIONARY = pa.array([text for texts in _TEXTS for text in texts], type=pa.string())


def texts_in(bucket: TextBucket) -> list[str]:
    """Every text a bucket can produce (for tests and inspection)."""
    return list(_TEXTS[bucket])


def render_texts(buckets: np.ndarray, rng: np.random.Generator, has_text: np.ndarray) -> pa.Array:
    """One text per row from its bucket, chosen at random; null where `has_text` is False."""
    buckets = np.asarray(buckets, dtype=np.int64)
    sizes = np.diff(_OFFSETS)[buckets]
    choice = _OFFSETS[buckets] + (rng.random(len(buckets)) * sizes).astype(np.int64)
    indices = pa.array(choice, mask=~np.asarray(has_text, dtype=bool))
    return _DICTIONARY.take(indices)
