"""Synthetic "speech": phoneme tones in noise, framed log spectra, CTC transcripts, WER.

An utterance is 1-3 words of 1-4 phonemes each (phonemes uniform over
``NUM_PHONEMES``, written as the letters a, b, ...). Phoneme k is a tone of base
frequency ``F_k`` (log-spaced over 120-850 Hz) with a 0.3-amplitude second
harmonic; odd k are chirps rising to 1.2 F_k over the segment. Each phoneme
lasts 4-8 frames, words are separated by 2-5 frames of silence, and 1-4 silent
frames lead and trail. Per utterance: a "speaker" pitch factor in [0.95, 1.05],
per phoneme an amplitude in [0.5, 1]; white noise of standard deviation
``NOISE_STD`` everywhere. Sample rate 2 kHz.

Features: log power spectra of Hann-windowed frames (64 samples, hop 32, so 33
bins per 16 ms frame), normalised per utterance to zero mean and unit variance
per bin (CMVN), padded to the longest utterance of the batch rounded up to a multiple of
``TRIM_MULTIPLE`` frames (at most ``MAX_FRAMES``). Labels: CTC ids, 0 = blank,
1 = word separator, 2.. = phonemes, padded to ``MAX_LABELS``. Batches follow
the harness's librispeech layout: ``inputs = (features, feature_paddings)``,
``targets = (labels, label_paddings)``, paddings 1.0 on padded positions.

Utterance ``i`` of a split is generated from the seed ``(split seed, i)`` alone,
so any subset is reproducible without generating the rest; eval splits are
cached after their first use.

WER: the word error rate of the greedy CTC transcripts, ``sum_utterances
edit_distance(reference words, hypothesis words) / sum reference word counts``.
"""

from __future__ import annotations

import functools

import numpy as np

from sfadamw.workloads._shared_b import ArrayDataset, edit_distance, pad_sequences

SAMPLE_RATE = 2000
FRAME, HOP = 64, 32
NUM_BINS = FRAME // 2 + 1
NUM_PHONEMES = 10
BLANK, SPACE = 0, 1
VOCAB_SIZE = NUM_PHONEMES + 2
MAX_FRAMES = 128  # the longest possible utterance has 113 frames
MAX_LABELS = 16
TRIM_MULTIPLE = 16
NOISE_STD = 0.5
PHONEME_FREQS = 120.0 * (850.0 / 120.0) ** (np.arange(NUM_PHONEMES) / (NUM_PHONEMES - 1))
SPLIT_SIZES = {"train": 8192, "validation": 256, "test": 256}
_SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}
_WINDOW = np.hanning(FRAME)


def utterance(split: str, index: int) -> tuple[np.ndarray, list[int]]:
    """``(features (frames, NUM_BINS) float32, label ids)`` of utterance ``index``."""
    rng = np.random.default_rng([_SPLIT_SEEDS[split], index])
    words = [
        list(rng.integers(0, NUM_PHONEMES, size=int(rng.integers(1, 5))))
        for _ in range(int(rng.integers(1, 4)))
    ]
    pitch = rng.uniform(0.95, 1.05)
    pieces = [np.zeros(HOP * int(rng.integers(1, 5)))]
    for w, word in enumerate(words):
        if w:
            pieces.append(np.zeros(HOP * int(rng.integers(2, 6))))
        for phoneme in word:
            n = HOP * int(rng.integers(4, 9))
            t = np.arange(n) / SAMPLE_RATE
            f0 = PHONEME_FREQS[phoneme] * pitch
            sweep = 0.2 * f0 * (phoneme % 2)  # odd phonemes rise by 20%
            phase = 2 * np.pi * (f0 * t + 0.5 * sweep * t**2 / t[-1])
            tone = np.sin(phase) + 0.3 * np.sin(2 * phase)
            pieces.append(rng.uniform(0.5, 1.0) * tone * np.hanning(n) ** 0.25)
    pieces.append(np.zeros(HOP * int(rng.integers(1, 5))))
    signal = np.concatenate(pieces)
    signal = signal + NOISE_STD * rng.standard_normal(len(signal))
    ids = []
    for w, word in enumerate(words):
        if w:
            ids.append(SPACE)
        ids += [int(p) + 2 for p in word]
    return log_spectrogram(signal), ids


def log_spectrogram(signal: np.ndarray) -> np.ndarray:
    """CMVN-normalised log power spectra of Hann-windowed frames, float32 (frames, bins)."""
    count = 1 + (len(signal) - FRAME) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME)[::HOP][:count]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    logs = np.log(power + 1e-6)
    return ((logs - logs.mean(0)) / (logs.std(0) + 1e-6)).astype(np.float32)


def _collate(split: str, indices: np.ndarray) -> dict:
    feats = np.zeros((len(indices), MAX_FRAMES, NUM_BINS), dtype=np.float32)
    feat_pad = np.ones((len(indices), MAX_FRAMES), dtype=np.float32)
    labels = []
    for row, i in enumerate(indices):
        f, ids = utterance(split, int(i))
        feats[row, : len(f)] = f
        feat_pad[row, : len(f)] = 0.0
        labels.append(ids)
    label_ids = pad_sequences(labels, MAX_LABELS)
    label_pad = np.ones(label_ids.shape, dtype=np.float32)
    for row, ids in enumerate(labels):
        label_pad[row, : len(ids)] = 0.0
    return _trimmed({"inputs": (feats, feat_pad), "targets": (label_ids, label_pad)})


def _trimmed(batch: dict) -> dict:
    """``batch`` with trailing all-padding frames dropped (kept: a multiple of TRIM_MULTIPLE)."""
    (feats, feat_pad), targets = batch["inputs"], batch["targets"]
    longest = int((1 - feat_pad).sum(1).max())
    keep = min(MAX_FRAMES, -(-longest // TRIM_MULTIPLE) * TRIM_MULTIPLE)
    return {"inputs": (feats[:, :keep], feat_pad[:, :keep]), "targets": targets}


@functools.cache
def _eval_batch_cache(split: str) -> dict:
    return _collate(split, np.arange(SPLIT_SIZES[split]))


def dataset(split: str) -> ArrayDataset:
    """``'train'``/``'eval_train'`` generate on the fly; validation/test are cached."""
    if split in ("train", "eval_train"):
        return ArrayDataset(SPLIT_SIZES["train"], functools.partial(_collate, "train"))

    def collate(indices: np.ndarray) -> dict:
        full = _eval_batch_cache(split)
        (f, fp), (t, tp) = full["inputs"], full["targets"]
        return _trimmed({"inputs": (f[indices], fp[indices]), "targets": (t[indices], tp[indices])})

    return ArrayDataset(SPLIT_SIZES[split], collate)


def ctc_greedy(frame_ids: np.ndarray, num_valid: int) -> list[int]:
    """Best-path CTC decoding: merge repeats, then drop blanks (Graves et al. 2006)."""
    out, previous = [], None
    for i in frame_ids[:num_valid]:
        if i != previous and i != BLANK:
            out.append(int(i))
        previous = i
    return out


def words(ids: list[int]) -> list[str]:
    """The words of a label sequence: phoneme letters grouped between separators."""
    text = "".join(" " if i == SPACE else chr(ord("a") + i - 2) for i in ids if i != BLANK)
    return text.split()


def word_error_rate(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True))
    return errors / max(sum(len(r) for r in references), 1)
