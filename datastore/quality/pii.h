// Personal information in Japanese text, found by hand-written scanners (no regular
// expressions: this runs on every keystroke in the annotator and over whole workspaces):
// e-mail addresses, URLs, Japanese phone numbers (fixed 0X-XXXX-XXXX and its variants,
// mobile 070/080/090, IP 050, free dial 0120/0800, navi dial 0570, with or without hyphens,
// in full-width digits, after +81), postal codes (〒123-4567, or 123-4567 next to 郵便番号 /
// 住所 or before a prefecture name), 12-digit individual numbers (マイナンバー) whose check
// digit holds, and card numbers (13–19 digits) that pass Luhn. Dates, prices, ISBNs,
// version numbers and order numbers that fail the check digits are left alone.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "datastore/quality/spans.h"

namespace tsumugi::quality {

enum class PiiKind { Email, Url, Phone, PostalCode, MyNumber, CardNumber };
std::string_view piiKindName(PiiKind kind);

struct PiiFinding {
    PiiKind kind = PiiKind::Email;
    Span span;
    std::string text;    // as written
    std::string digits;  // numbers: the ASCII digits (a phone after +81 in national form)
};

// Findings in text order; spans never overlap.
std::vector<PiiFinding> scanPii(std::string_view text);

// The check digit of a 12-digit individual number from its first 11 digits (ASCII), by the
// rule the 総務省令 on 個人番号 sets: Σ P_n·Q_n mod 11 over the digits P_1 … P_11 counted
// from the right, Q_n = n + 1 (n ≤ 6) or n − 5 (n ≥ 7); remainder ≤ 1 gives 0, else 11 − r.
int myNumberCheckDigit(std::string_view first11);
bool luhnValid(std::string_view digits);

}  // namespace tsumugi::quality
