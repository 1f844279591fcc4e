#!/usr/bin/env python3
"""Validate the sample workspace (resources/samples/*.jsonl, `tree` format).

Checks, for every file that exists:
  * the format rules of docs/tree-format.md (keys unique, exactly one root, parents exist,
    roles/statuses/origins/verdicts valid, ranking keys are siblings under `parent`,
    reviews/labels refer to existing messages, label values in range);
  * the character-ratio rules for every message text (code points, whitespace excluded
    from the denominator): hiragana >= 0.2, katakana <= 0.5, Japanese characters >= 0.5;
  * root prompts are distinct across all files;
  * pooled Kendall tau-b for each pair of rankers lies in [0.3, 0.9].

Standard library only. Exit status 0 when everything passes, 1 otherwise.

    python3 resources/samples/check_samples.py [FILE.jsonl ...]
"""
import glob
import itertools
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

ROLES = {"system", "user", "assistant"}
STATUSES = {"draft", "submitted", "approved", "needs_fix", "rejected"}
ORIGINS = {"human", "model", "import"}
RANK_VERDICTS = {"ranked", "all_flawed", "cannot_rank"}
REVIEW_VERDICTS = {"approve", "reject", "needs_fix"}
SCALE_LABELS = {"helpful", "harmless"}  # 1-5; any other label is a 0/1 flag
RANKERS = ("sato", "suzuki", "takahashi")

MIN_HIRAGANA = 0.2
MAX_KATAKANA = 0.5
MIN_JAPANESE = 0.5
TAU_MIN, TAU_MAX = 0.3, 0.9


# ---------------------------------------------------------------- characters

def is_hiragana(c):
    return 0x3041 <= ord(c) <= 0x309F


def is_katakana(c):
    o = ord(c)
    # U+30FB (middle dot) is punctuation; U+30FC (long vowel mark) counts as katakana.
    return (0x30A0 <= o <= 0x30FF and o != 0x30FB) or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F


def is_kanji(c):
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x2FFFF or o in (0x3005, 0x3006, 0x3007))


def is_jp_punct(c):
    o = ord(c)
    # CJK symbols and punctuation (、。「」『』〜 …), the katakana middle dot,
    # full-width forms (！？（）：０-９ …) and half-width CJK punctuation.
    return 0x3000 <= o <= 0x303F or o == 0x30FB or 0xFF01 <= o <= 0xFF65


def is_japanese(c):
    return is_hiragana(c) or is_katakana(c) or is_kanji(c) or is_jp_punct(c)


def ratios(text):
    chars = [c for c in text if not c.isspace()]
    n = len(chars)
    if n == 0:
        return 0.0, 0.0, 0.0
    hira = sum(map(is_hiragana, chars))
    kata = sum(map(is_katakana, chars))
    jp = sum(map(is_japanese, chars))
    return hira / n, kata / n, jp / n


# ---------------------------------------------------------------- kendall tau-b

def positions(order):
    pos = {}
    for i, group in enumerate(order):
        for k in group:
            pos[k] = i
    return pos


def sign(x):
    return (x > 0) - (x < 0)


def tau_b(pairs):
    """pairs: list of (sa, sb) signs (-1, 0, 1) for each candidate pair."""
    c = d = ta = tb = 0
    for sa, sb in pairs:
        if sa == 0 and sb == 0:
            continue  # tied on both sides: in neither denominator term
        if sa == 0:
            ta += 1
        elif sb == 0:
            tb += 1
        elif sa == sb:
            c += 1
        else:
            d += 1
    denom = math.sqrt((c + d + tb) * (c + d + ta))
    return ((c - d) / denom if denom else float("nan")), c, d, ta, tb


# ---------------------------------------------------------------- validation

class Checker:
    def __init__(self):
        self.errors = []
        self.counts = dict(files=0, trees=0, messages=0, rankings=0, reviews=0, labels=0,
                           multi_turn=0, drafts=0, rejected=0, needs_fix=0, single_reply=0,
                           not_ranked=0)
        self.roots = {}  # root text -> where
        self.tree_names = {}
        # (file, tree, parent) -> {annotator: order}
        self.ranked = {}

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def check_text(self, where, text):
        h, k, j = ratios(text)
        if h < MIN_HIRAGANA:
            self.err(where, f"hiragana share {h:.3f} < {MIN_HIRAGANA}")
        if k > MAX_KATAKANA:
            self.err(where, f"katakana share {k:.3f} > {MAX_KATAKANA}")
        if j < MIN_JAPANESE:
            self.err(where, f"Japanese share {j:.3f} < {MIN_JAPANESE}")

    def check_tree(self, fname, lineno, obj):
        where = f"{fname}:{lineno}"
        if not isinstance(obj, dict):
            self.err(where, "line is not a JSON object")
            return
        name = obj.get("tree")
        if not isinstance(name, str) or not name:
            self.err(where, "missing 'tree' name")
        else:
            where = f"{fname}:{lineno} ({name})"
            if name in self.tree_names:
                self.err(where, f"tree name also used at {self.tree_names[name]}")
            self.tree_names[name] = where
        tags = obj.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            self.err(where, "'tags' must be a list of non-empty strings")
        known = {"tree", "tags", "messages", "rankings", "reviews", "labels"}
        for k in obj:
            if k not in known:
                self.err(where, f"unknown field '{k}'")

        msgs = obj.get("messages")
        if not isinstance(msgs, list) or not msgs:
            self.err(where, "'messages' must be a non-empty list")
            return
        self.counts["trees"] += 1
        by_key = {}
        for i, m in enumerate(msgs):
            mw = f"{where} message #{i}"
            if not isinstance(m, dict):
                self.err(mw, "not an object")
                continue
            key = m.get("key")
            if not isinstance(key, str) or not key:
                self.err(mw, "missing key")
                continue
            mw = f"{where} message '{key}'"
            if key in by_key:
                self.err(mw, "duplicate key")
                continue
            by_key[key] = m
            if m.get("role") not in ROLES:
                self.err(mw, f"bad role {m.get('role')!r}")
            text = m.get("text")
            if not isinstance(text, str) or not text:
                self.err(mw, "text missing or empty")
            else:
                self.check_text(mw, text)
            if "status" in m and m["status"] not in STATUSES:
                self.err(mw, f"bad status {m['status']!r}")
            if "origin" in m and m["origin"] not in ORIGINS:
                self.err(mw, f"bad origin {m['origin']!r}")
            if "author" in m and (not isinstance(m["author"], str) or not m["author"]):
                self.err(mw, "author must be a non-empty string")
            if "meta" in m and not isinstance(m["meta"], dict):
                self.err(mw, "meta must be an object")
            self.counts["messages"] += 1
            st = m.get("status")
            self.counts["drafts"] += st == "draft"
            self.counts["rejected"] += st == "rejected"
            self.counts["needs_fix"] += st == "needs_fix"

        roots = [k for k, m in by_key.items() if "parent" not in m]
        if len(roots) != 1:
            self.err(where, f"expected exactly one root, found {len(roots)}: {roots}")
        elif msgs[0].get("key") != roots[0]:
            self.err(where, "the first message must be the root")
        children = {}
        for k, m in by_key.items():
            if "parent" not in m:
                continue
            p = m["parent"]
            if p not in by_key:
                self.err(f"{where} message '{k}'", f"parent '{p}' does not exist")
                continue
            if p == k:
                self.err(f"{where} message '{k}'", "is its own parent")
            children.setdefault(p, []).append(k)
            if m.get("role") == "system":
                self.err(f"{where} message '{k}'", "a system message may only be the root")
        # cycles: every message must reach the root
        for k in by_key:
            seen, cur = set(), k
            while cur is not None and cur in by_key:
                if cur in seen:
                    self.err(f"{where} message '{k}'", "parent cycle")
                    break
                seen.add(cur)
                cur = by_key[cur].get("parent")
        if len(roots) == 1:
            root = by_key[roots[0]]
            rtext = root.get("text", "")
            if rtext in self.roots:
                self.err(where, f"root prompt duplicates the one at {self.roots[rtext]}")
            else:
                self.roots[rtext] = where
            user_turns = sum(1 for m in by_key.values() if m.get("role") == "user")
            self.counts["multi_turn"] += user_turns >= 2
            replies = sum(1 for m in by_key.values() if m.get("role") == "assistant")
            self.counts["single_reply"] += replies == 1

        # rankings
        rankings = obj.get("rankings", [])
        if not isinstance(rankings, list):
            self.err(where, "'rankings' must be a list")
            rankings = []
        seen_rank = set()
        for j, r in enumerate(rankings):
            rw = f"{where} ranking #{j}"
            if not isinstance(r, dict):
                self.err(rw, "not an object")
                continue
            p, ann = r.get("parent"), r.get("annotator")
            if p not in by_key:
                self.err(rw, f"parent {p!r} does not exist")
                continue
            if not isinstance(ann, str) or not ann:
                self.err(rw, "missing annotator")
                continue
            if (p, ann) in seen_rank:
                self.err(rw, f"{ann} ranks '{p}' twice")
            seen_rank.add((p, ann))
            verdict = r.get("verdict", "ranked")
            self.counts["rankings"] += 1
            if verdict not in RANK_VERDICTS:
                self.err(rw, f"bad verdict {verdict!r}")
                continue
            if verdict != "ranked":
                if not isinstance(r.get("reason"), str) or not r["reason"]:
                    self.err(rw, f"verdict {verdict} needs a reason")
                else:
                    self.check_text(rw + " reason", r["reason"])
                if "order" in r:
                    self.err(rw, f"verdict {verdict} must not have an order")
                continue
            order = r.get("order")
            if (not isinstance(order, list) or not order
                    or not all(isinstance(g, list) and g for g in order)):
                self.err(rw, "order must be a non-empty list of non-empty groups")
                continue
            flat = [k for g in order for k in g]
            if len(flat) != len(set(flat)):
                self.err(rw, "a key appears twice in order")
            if len(flat) < 2:
                self.err(rw, "order ranks fewer than two messages")
            sibs = set(children.get(p, []))
            for k in flat:
                if k not in sibs:
                    self.err(rw, f"'{k}' is not a child of '{p}'")
                elif by_key[k].get("status") == "draft":
                    self.err(rw, f"'{k}' is a draft")
            self.ranked.setdefault((where, p), {})[ann] = order

        # reviews
        reviews = obj.get("reviews", [])
        reviewed = {}
        for j, r in enumerate(reviews if isinstance(reviews, list) else []):
            rw = f"{where} review #{j}"
            if not isinstance(r, dict) or r.get("message") not in by_key:
                self.err(rw, "missing or unknown message")
                continue
            if not isinstance(r.get("reviewer"), str) or not r["reviewer"]:
                self.err(rw, "missing reviewer")
            if r.get("verdict") not in REVIEW_VERDICTS:
                self.err(rw, f"bad verdict {r.get('verdict')!r}")
            if "comment" in r:
                if not isinstance(r["comment"], str) or not r["comment"]:
                    self.err(rw, "comment must be a non-empty string")
                else:
                    self.check_text(rw + " comment", r["comment"])
            reviewed.setdefault(r["message"], []).append(r.get("verdict"))
            self.counts["reviews"] += 1
        # a rejected / needs_fix message should carry the matching review
        for k, m in by_key.items():
            st = m.get("status")
            want = {"rejected": "reject", "needs_fix": "needs_fix"}.get(st)
            if want and want not in reviewed.get(k, []):
                self.err(f"{where} message '{k}'", f"status {st} without a '{want}' review")

        # labels
        labels = obj.get("labels", [])
        for j, lab in enumerate(labels if isinstance(labels, list) else []):
            lw = f"{where} label #{j}"
            if not isinstance(lab, dict) or lab.get("message") not in by_key:
                self.err(lw, "missing or unknown message")
                continue
            name, val = lab.get("name"), lab.get("value")
            if not isinstance(name, str) or not name:
                self.err(lw, "missing name")
            if not isinstance(val, int) or isinstance(val, bool):
                self.err(lw, "value must be an integer")
            elif name in SCALE_LABELS and not 1 <= val <= 5:
                self.err(lw, f"{name} must be 1-5")
            elif name not in SCALE_LABELS and val not in (0, 1):
                self.err(lw, f"flag {name} must be 0 or 1")
            if not isinstance(lab.get("annotator"), str) or not lab["annotator"]:
                self.err(lw, "missing annotator")
            self.counts["labels"] += 1

        # structure statistics
        for p, ks in children.items():
            if by_key[p].get("role") != "user":
                continue
            cands = [k for k in ks if by_key[k].get("role") == "assistant"
                     and by_key[k].get("status") != "draft"]
            if len(cands) >= 2 and not any(r.get("parent") == p for r in rankings
                                           if isinstance(r, dict)):
                self.counts["not_ranked"] += 1

    def check_file(self, path):
        fname = os.path.basename(path)
        self.counts["files"] += 1
        with open(path, "rb") as f:
            raw = f.read()
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.err(fname, f"not valid UTF-8: {e}")
            return
        for lineno, line in enumerate(data.split("\n"), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                self.err(f"{fname}:{lineno}", f"invalid JSON: {e}")
                continue
            self.check_tree(fname, lineno, obj)

    def taus(self):
        pairs = {ab: [] for ab in itertools.combinations(RANKERS, 2)}
        for (_, _), by_ann in self.ranked.items():
            for a, b in pairs:
                if a not in by_ann or b not in by_ann:
                    continue
                pa, pb = positions(by_ann[a]), positions(by_ann[b])
                common = sorted(set(pa) & set(pb))
                for x, y in itertools.combinations(common, 2):
                    pairs[(a, b)].append((sign(pa[x] - pa[y]), sign(pb[x] - pb[y])))
        return {ab: tau_b(v) for ab, v in pairs.items()}


def main(argv):
    files = argv[1:] or sorted(glob.glob(os.path.join(HERE, "*.jsonl")))
    if not files:
        print("check_samples: no .jsonl files found", file=sys.stderr)
        return 1
    ch = Checker()
    for path in files:
        ch.check_file(path)

    c = ch.counts
    print(f"files: {c['files']}  trees: {c['trees']}  messages: {c['messages']}  "
          f"rankings: {c['rankings']}  reviews: {c['reviews']}  labels: {c['labels']}")
    print(f"multi-turn trees: {c['multi_turn']}  single-reply trees: {c['single_reply']}  "
          f"drafts: {c['drafts']}  rejected: {c['rejected']}  needs_fix: {c['needs_fix']}  "
          f"unranked parents with >=2 candidates: {c['not_ranked']}")

    ok = not ch.errors
    for (a, b), (t, con, dis, ta, tb) in ch.taus().items():
        flag = ""
        if math.isnan(t) or not TAU_MIN <= t <= TAU_MAX:
            flag = f"  OUT OF [{TAU_MIN}, {TAU_MAX}]"
            ok = False
        print(f"kendall tau-b {a}/{b}: {t:.3f}  (concordant {con}, discordant {dis}, "
              f"tied only by {a} {ta}, tied only by {b} {tb}){flag}")

    for e in ch.errors:
        print("ERROR", e)
    print("OK" if ok else f"FAILED ({len(ch.errors)} errors)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
