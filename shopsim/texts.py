"""Feedback texts, in English or Japanese, whose tone follows the experience, so a sentiment scorer
(VADER, or the Japanese lexicon scorer) tracks the rating.

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


_PARTS_JA: dict[TextBucket, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    TextBucket.REVIEW_1: (
        (
            "最悪です。",
            "ひどい買い物でした。",
            "本当にがっかりしました。",
            "買って後悔しています。",
        ),
        (
            "二日で壊れてしまい、作りも安っぽいです。",
            "写真とまったく違い、品質がひどすぎます。",
            "届いた時点で破損していて、使い物になりません。",
            "サイズも違うし、お金の無駄でした。",
        ),
        (
            "二度と買いません。",
            "返金してほしいです。",
            "このお店はおすすめしません。",
            "本当に腹が立ちます。",
        ),
    ),
    TextBucket.REVIEW_2: (
        ("残念です。", "いまいちでした。", "期待外れでした。", "満足できませんでした。"),
        (
            "品質が悪く、思っていたより安っぽいです。",
            "一応使えますが、素材が粗末です。",
            "傷があり、サイズも合いませんでした。",
            "一週間で動かなくなってしまいました。",
        ),
        (
            "人には勧めません。",
            "値段に見合いません。",
            "もう少し良いものを期待していました。",
            "たぶんもう買わないと思います。",
        ),
    ),
    TextBucket.REVIEW_3: (
        ("普通です。", "まあまあです。", "可もなく不可もなくです。", "こんなものかなと思います。"),
        (
            "特別なところはありませんが、使えます。",
            "配送も普通で、説明どおりの商品でした。",
            "良い所もあれば、少し弱い所もあります。",
            "値段相応だと思います。",
        ),
        (
            "また注文するかもしれません。",
            "特に言うことはありません。",
            "それなりです。",
            "しばらく様子を見ます。",
        ),
    ),
    TextBucket.REVIEW_4: (
        ("良い買い物でした。", "満足しています。", "なかなか良いです。", "全体的に満足です。"),
        (
            "品質も良く、配送も早かったです。",
            "説明どおりで、使いやすいです。",
            "しっかりした作りで、時間どおりに丁寧な梱包で届きました。",
            "お得で、使い勝手も良いです。",
        ),
        ("おすすめです。", "ありがとうございました。", "また買いたいです。", "満足です。"),
    ),
    TextBucket.REVIEW_5: (
        ("最高です！", "大満足です！", "完璧です！", "素晴らしいお店です！"),
        (
            "品質が素晴らしく、配送もとても早かったです。",
            "まさに欲しかった物で、作りも美しく、予定より早く届きました。",
            "商品も価格も対応も、すべて最高でした。",
            "素敵な商品で、家族もとても気に入っています。",
        ),
        (
            "強くおすすめします！",
            "本当にありがとうございました！",
            "最高のお店です。",
            "絶対にまた買います！",
        ),
    ),
    TextBucket.REVIEW_LOW_LATE: (
        (
            "とてもがっかりしました。",
            "配送がひどいです。",
            "イライラしました。",
            "対応が最悪です。",
        ),
        (
            "何の説明もなく、荷物が何日も遅れて届きました。",
            "配送が遅れ、メールを送っても誰も返事をくれませんでした。",
            "約束の日から一週間遅れで届き、箱も潰れていました。",
            "ずっと待たされ、また配送が遅れました。",
        ),
        ("もう注文しません。", "ありえません。", "本当に腹が立ちます。", "ひどい対応です。"),
    ),
    TextBucket.REVIEW_LOW_FAILED: (
        ("ひどいです。", "今までで最悪の対応です。", "激怒しています。", "詐欺ですか？"),
        (
            "注文した商品が届かず、追跡も役に立ちません。",
            "配達に失敗し、荷物が行方不明になりました。",
            "何も届かず、配送業者も諦めてしまいました。",
            "お金を払ったのに、商品が届きませんでした。",
        ),
        (
            "返金してください。",
            "最悪です。絶対におすすめしません。",
            "二度と利用しません。",
            "客をこんなふうに扱うなんてひどいです。",
        ),
    ),
    TextBucket.REVIEW_LOW_RETURNED: (
        ("残念です。", "不良品でした。", "不満です。", "困りました。"),
        (
            "壊れていたので返品しました。",
            "違う商品で、しかも傷があったので返品しました。",
            "品質がひどすぎて返品しました。",
            "まったく動かなかったので送り返しました。",
        ),
        ("返金も遅いです。", "時間の無駄でした。", "おすすめしません。", "悲しいです。"),
    ),
    TextBucket.REVIEW_GOOD_BUT_LATE: (
        ("良い商品です。", "素敵な品です。", "商品には満足しています。", "品質は最高です。"),
        (
            "配送は少し遅れましたが、商品自体は素晴らしいです。",
            "予定より遅く届きましたが、とても気に入っています。",
            "発送は遅かったものの、品質は素晴らしいです。",
            "数日遅れましたが、待った甲斐がありました。",
        ),
        ("おすすめです。", "ありがとうございます。", "また買いたいです。", "お得でした。"),
    ),
    TextBucket.TICKET_LATE: (
        (
            "お世話になっております。",
            "こんにちは。",
            "注文した商品はどこですか？",
            "いい加減にしてください。",
        ),
        (
            "注文が遅れていて、追跡情報が何日も更新されていません。",
            "お届け予定日を過ぎたのに、まだ何も届いていません。",
            "何日も前に届くはずだったのにまだ待っています。ありえません。",
            "また荷物が遅れていて、誰も返事をくれません。本当に困っています。",
        ),
        (
            "至急対応してください。",
            "本当に腹が立っています。",
            "ひどい対応です。",
            "紛失したならキャンセルしてください。",
        ),
    ),
    TextBucket.TICKET_FAILED: (
        ("お世話になっております。", "苦情です。", "信じられません。", "とても怒っています。"),
        (
            "配達に失敗したとのことで、一度も来ないまま荷物が返送されました。",
            "配送業者は配達できなかったと言っていますが、一日中家にいました。",
            "注文した商品が紛失し、問い合わせても無視されています。",
            "荷物が届かず、本当にひどくてストレスのたまる経験です。",
        ),
        (
            "全額返金してください。",
            "最悪のお店です。",
            "支払いに異議を申し立てます。",
            "怒っています。",
        ),
    ),
    TextBucket.TICKET_RETURNED: (
        (
            "お世話になっております。",
            "こんにちは。",
            "返品のお願いです。",
            "注文の件で問題があります。",
        ),
        (
            "商品が壊れた状態で届いたので返品しました。",
            "違う商品だったので返品しましたが、返金はまだでしょうか？",
            "商品に傷があり、何週間も前に返送したのにまだ返金がありません。",
            "品質が悪かったので返品しました。確認をお願いします。",
        ),
        ("残念です。", "よろしくお願いします。", "不満です。", "困っています。"),
    ),
    TextBucket.TICKET_QUESTION: (
        ("お世話になっております。", "こんにちは。", "質問です。", "おはようございます。"),
        (
            "注文のお届け先を変更できますか？",
            "この商品の別の色はありますか？",
            "割引コードはどのように使えばよいですか？",
            "注文の領収書を送っていただけますか？",
        ),
        (
            "よろしくお願いします。",
            "ありがとうございます。",
            "よろしくお願いいたします。",
            "助かります。",
        ),
    ),
    TextBucket.PRAISE: (
        (
            "このお店、本当におすすめです！",
            "このお店が大好きです！",
            "素晴らしい体験でした！",
            "ありがとうございます！",
        ),
        (
            "配送が早く、サポートも親切です。",
            "予定より早く届き、とても素敵です。",
            "最高の接客で、すぐに助けてくれました。",
            "価格もお得で、品質も素晴らしいです。",
        ),
        ("おすすめです！", "満足しています。", "また利用します。", "最高です。"),
    ),
}

LANGUAGES = ("en", "ja")
_PARTS_BY_LANGUAGE = {"en": (_PARTS, " "), "ja": (_PARTS_JA, "")}


def _bucket_texts(bucket: TextBucket, language: str = "en") -> list[str]:
    parts, joiner = _PARTS_BY_LANGUAGE[language]
    openings, bodies, closings = parts[bucket]
    return [joiner.join(combo) for combo in itertools.product(openings, bodies, closings)]


def _catalogue(language: str) -> tuple[list[list[str]], np.ndarray, pa.Array]:
    texts = [_bucket_texts(bucket, language) for bucket in TextBucket]
    offsets = np.cumsum([0, *(len(t) for t in texts)])
    return texts, offsets, pa.array([t for group in texts for t in group], type=pa.string())


_CATALOGUES = {language: _catalogue(language) for language in LANGUAGES}


def texts_in(bucket: TextBucket, language: str = "en") -> list[str]:
    """Every text a bucket can produce (for tests and inspection)."""
    return list(_CATALOGUES[language][0][bucket])


def render_texts(
    buckets: np.ndarray, rng: np.random.Generator, has_text: np.ndarray, language: str = "en"
) -> pa.Array:
    """One text per row from its bucket, chosen at random; null where `has_text` is False."""
    _, offsets, dictionary = _CATALOGUES[language]
    buckets = np.asarray(buckets, dtype=np.int64)
    sizes = np.diff(offsets)[buckets]
    choice = offsets[buckets] + (rng.random(len(buckets)) * sizes).astype(np.int64)
    indices = pa.array(choice, mask=~np.asarray(has_text, dtype=bool))
    return dictionary.take(indices)
