"""A rule-generated language pair: cardinal numbers in English words -> French words.

Source: American English without "and" ("three hundred forty-seven thousand
two"). Target: French in the traditional spelling (hyphens inside 17-99 except
around "et"; "vingt et un", "soixante et onze", "quatre-vingts" /
"quatre-vingt-un", "deux cents" / "deux cent trois", "mille" invariable, "deux
cents millions"). Both are produced by our own rules below, for integers
``0 <= n < 10**9`` whose digit count is uniform on 1..9 (then uniform within
it), each split from its own seed, the three splits disjoint.

Tokens are words, with "-" a token of its own (so "quatre-vingt-dix" is
``quatre - vingt - dix``); :func:`detokenize` joins them back. Id 0 pads, 1 ends
a sequence (EOS), as in the harness's wmt data. BLEU is sacrebleu's corpus BLEU
(13a tokenizer, exp smoothing) of detokenized strings, as the wmt workload.
"""

from __future__ import annotations

import functools

import numpy as np
import sacrebleu

from sfadamw.workloads._shared_b import ArrayDataset, pad_sequences

PAD, EOS = 0, 1
SOURCE_LENGTH = 24
TARGET_LENGTH = 32
SPLIT_SIZES = {"train": 16384, "validation": 256, "test": 256}
_SPLIT_ORDER = ("validation", "test", "train")

_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_FR_ONES = (
    "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize "
    "quatorze quinze seize dix-sept dix-huit dix-neuf"
).split()
_FR_TENS = "_ _ vingt trente quarante cinquante soixante".split()


def english(n: int) -> str:
    """``n`` (0 <= n < 10**9) in American English words."""
    if n == 0:
        return "zero"
    parts = []
    for scale, word in ((10**6, "million"), (10**3, "thousand"), (1, "")):
        chunk = n // scale % 1000
        if chunk:
            parts.append(_english_below_1000(chunk) + (f" {word}" if word else ""))
    return " ".join(parts)


def _english_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        words.append(_EN_TENS[rest // 10] + (f"-{_EN_ONES[rest % 10]}" if rest % 10 else ""))
    elif rest:
        words.append(_EN_ONES[rest])
    return " ".join(words)


def french(n: int) -> str:
    """``n`` (0 <= n < 10**9) in French words, traditional spelling."""
    if n == 0:
        return "zéro"
    millions, thousands, units = n // 10**6, n // 1000 % 1000, n % 1000
    parts = []
    if millions:  # "million" is a noun: the number before it keeps its plural s
        noun = "million" if millions == 1 else "millions"
        parts.append(f"{_french_below_1000(millions, final=True)} {noun}")
    if thousands:  # "mille" is invariable and never preceded by "un"
        prefix = "" if thousands == 1 else _french_below_1000(thousands, final=False) + " "
        parts.append(prefix + "mille")
    if units:
        parts.append(_french_below_1000(units, final=True))
    return " ".join(parts)


def _french_below_1000(n: int, final: bool) -> str:
    """``final``: nothing follows but a noun, so "cents"/"quatre-vingts" take their s."""
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        word = "cent" if hundreds == 1 else f"{_FR_ONES[hundreds]} cent"
        words.append(word + ("s" if hundreds > 1 and rest == 0 and final else ""))
    if rest:
        words.append(_french_below_100(rest, final))
    return " ".join(words)


def _french_below_100(n: int, final: bool) -> str:
    if n < 20:
        return _FR_ONES[n]
    tens, ones = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix..., quatre-vingt-dix...
        base = "soixante" if tens == 7 else "quatre-vingt"
        if n == 71:
            return "soixante et onze"
        return f"{base}-{_FR_ONES[10 + ones]}"
    if tens == 8:
        return "quatre-vingt" + (f"-{_FR_ONES[ones]}" if ones else ("s" if final else ""))
    if ones == 0:
        return _FR_TENS[tens]
    if ones == 1:
        return f"{_FR_TENS[tens]} et un"
    return f"{_FR_TENS[tens]}-{_FR_ONES[ones]}"


def tokenize(text: str) -> list[str]:
    return text.replace("-", " - ").split()


def detokenize(tokens: list[str]) -> str:
    return " ".join(tokens).replace(" - ", "-")


def _all_words() -> list[str]:
    words = set()
    for n in list(range(1000)) + [1000, 2000, 10**6, 2 * 10**6, 80 * 10**6, 200 * 10**6]:
        words.update(tokenize(english(n)) + tokenize(french(n)))
    return sorted(words)


#: id -> token; 0 and 1 are PAD and EOS.
VOCAB: tuple[str, ...] = ("<pad>", "</s>", *_all_words())
_TOKEN_ID = {token: i for i, token in enumerate(VOCAB)}


def encode(text: str) -> list[int]:
    return [_TOKEN_ID[t] for t in tokenize(text)] + [EOS]


def decode(ids) -> str:
    """Text of ``ids`` up to the first EOS (padding and EOS dropped)."""
    tokens = []
    for i in ids:
        if i == EOS:
            break
        if i != PAD:
            tokens.append(VOCAB[int(i)])
    return detokenize(tokens)


@functools.cache
def split_numbers() -> dict[str, np.ndarray]:
    """The integers of each split: digit count uniform on 1..9, no number in two splits."""
    rng = np.random.default_rng(2024)
    seen: set[int] = set()
    out = {}
    for split in _SPLIT_ORDER:
        numbers: list[int] = []
        while len(numbers) < SPLIT_SIZES[split]:
            digits = int(rng.integers(1, 10))
            low = 0 if digits == 1 else 10 ** (digits - 1)
            n = int(rng.integers(low, 10**digits))
            if n not in seen:
                seen.add(n)
                numbers.append(n)
        out[split] = np.asarray(numbers, dtype=np.int64)
    return out


@functools.cache
def _encoded(split: str) -> tuple[np.ndarray, np.ndarray]:
    numbers = split_numbers()[split]
    sources = pad_sequences([encode(english(int(n))) for n in numbers], SOURCE_LENGTH)
    targets = pad_sequences([encode(french(int(n))) for n in numbers], TARGET_LENGTH)
    return sources, targets


def dataset(split: str) -> ArrayDataset:
    """Batches: ``inputs`` (B, 24) int32 source ids, ``targets`` (B, 32) int32 target
    ids, ``weights`` (B, 32) float32 = 1 on target tokens (EOS included), 0 on padding."""
    sources, targets = _encoded("train" if split == "eval_train" else split)

    def collate(indices: np.ndarray) -> dict[str, np.ndarray]:
        batch_targets = targets[indices]
        return {
            "inputs": sources[indices],
            "targets": batch_targets,
            "weights": (batch_targets != PAD).astype(np.float32),
        }

    return ArrayDataset(num_examples=len(sources), collate=collate)


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU (0-100) of detokenized hypotheses against one reference each."""
    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)
