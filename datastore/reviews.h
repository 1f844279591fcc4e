// Reviews of one revision of a message. A reviewer never reviews their own message.
// When the reviews of the current revision reach the workspace's target, the majority
// verdict sets the status (a tie sends it back as needs_fix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/accounts.h"

namespace tsumugi {

enum class ReviewVerdict { Approve, Reject, NeedsFix };

std::string_view reviewVerdictName(ReviewVerdict verdict);
ReviewVerdict parseReviewVerdict(std::string_view name);

struct Review {
    int64_t id = 0;
    int64_t messageId = 0;
    int64_t revision = 0;
    int64_t reviewerId = 0;
    ReviewVerdict verdict = ReviewVerdict::Approve;
    std::optional<std::string> comment;
    std::string createdAt;
};

struct NewReview {
    int64_t messageId = 0;
    int64_t revision = 0;  // the revision reviewed; a newer one makes this a ConflictError
    ReviewVerdict verdict = ReviewVerdict::Approve;
    std::optional<std::string> comment;
    std::optional<int64_t> reviewerId;  // admin and service only (imports)
    bool recordOnly = false;            // admin and service only: keep the status as it is (imports)
};

int64_t submitReview(Workspace& ws, const Account& actor, const NewReview& review);
std::vector<Review> reviewsOf(Workspace& ws, int64_t messageId);

}  // namespace tsumugi
