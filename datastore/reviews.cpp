#include "datastore/reviews.h"

#include <map>

#include "core/error.h"
#include "datastore/audit.h"
#include "datastore/messages.h"
#include "datastore/queue.h"
#include "datastore/settings.h"
#include "datastore/workspace.h"

namespace tsumugi {

std::string_view reviewVerdictName(ReviewVerdict verdict)
{
    switch (verdict) {
    case ReviewVerdict::Approve: return "approve";
    case ReviewVerdict::Reject: return "reject";
    case ReviewVerdict::NeedsFix: return "needs_fix";
    }
    return "approve";
}

ReviewVerdict parseReviewVerdict(std::string_view name)
{
    if (name == "approve") return ReviewVerdict::Approve;
    if (name == "reject") return ReviewVerdict::Reject;
    if (name == "needs_fix") return ReviewVerdict::NeedsFix;
    throw Error("unknown review verdict '" + std::string(name) + "'; expected approve, reject or needs_fix");
}

int64_t submitReview(Workspace& ws, const Account& actor, const NewReview& review)
{
    ws.requireWritable();
    const bool onBehalf = review.reviewerId && *review.reviewerId != actor.id;
    if (onBehalf || review.recordOnly)
        requireRole(actor, {Role::Admin, Role::Service}, "record reviews on behalf of others");
    else
        requireRole(actor, {Role::Reviewer, Role::Admin}, "review messages");
    const int64_t reviewer = review.reviewerId.value_or(actor.id);
    if (review.comment) validateText(*review.comment, "the review comment");

    db::Transaction tx(ws.db());
    const Message m = getMessage(ws, review.messageId);
    if (m.authorId == reviewer)
        throw PermissionError("nobody reviews their own message (message " + std::to_string(m.id) + ")");
    if (m.revision != review.revision)
        throw ConflictError("message " + std::to_string(m.id) + " changed since you read it (now revision " +
                            std::to_string(m.revision) + ", you reviewed revision " + std::to_string(review.revision) +
                            "); read the new text and review again");
    if (!review.recordOnly && m.status != Status::Submitted)
        throw Error("message " + std::to_string(m.id) + " is " + std::string(statusName(m.status)) +
                    "; only submitted messages are reviewed");

    ws.db()
        .prepare("INSERT INTO reviews(message_id, revision, reviewer_id, verdict, comment, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)")
        .bindAll(m.id, m.revision, reviewer, reviewVerdictName(review.verdict), review.comment, ws.now())
        .run();
    const int64_t id = ws.db().lastInsertId();

    std::optional<Status> decided;
    if (!review.recordOnly) {
        const int target = std::max(1, queueTargets(ws).reviewsPerMessage);
        auto st = ws.db().prepare("SELECT verdict, count(*) FROM reviews WHERE message_id = ? AND revision = ? "
                                  "GROUP BY verdict");
        st.bindAll(m.id, m.revision);
        std::map<std::string, int64_t> votes;
        int64_t total = 0;
        while (st.step()) total += votes[st.text(0)] = st.int64(1);
        if (total >= target) {
            int64_t best = 0;
            std::vector<std::string> leaders;
            for (const auto& [verdict, count] : votes) {
                if (count > best) best = count, leaders = {verdict};
                else if (count == best) leaders.push_back(verdict);
            }
            const ReviewVerdict v = leaders.size() == 1 ? parseReviewVerdict(leaders[0]) : ReviewVerdict::NeedsFix;
            decided = v == ReviewVerdict::Approve  ? Status::Approved
                      : v == ReviewVerdict::Reject ? Status::Rejected
                                                   : Status::NeedsFix;
            ws.db()
                .prepare("UPDATE messages SET status = ?, updated_at = ? WHERE id = ?")
                .bindAll(statusName(*decided), ws.now(), m.id)
                .run();
        }
    }
    finishLease(ws, actor, TaskKind::Review, m.id);
    refreshOpenTasks(ws, m.id);
    nlohmann::json detail = {{"verdict", reviewVerdictName(review.verdict)}, {"reviewer_id", reviewer}};
    if (decided) detail["status"] = statusName(*decided);
    audit(ws, actor, {"review.create", "message", m.id, m.revision, m.revision}, detail);
    tx.commit();
    return id;
}

std::vector<Review> reviewsOf(Workspace& ws, int64_t messageId)
{
    auto st = ws.db().prepare("SELECT id, message_id, revision, reviewer_id, verdict, comment, created_at "
                              "FROM reviews WHERE message_id = ? ORDER BY id");
    st.bind(1, messageId);
    std::vector<Review> out;
    while (st.step())
        out.push_back({st.int64(0), st.int64(1), st.int64(2), st.int64(3), parseReviewVerdict(st.textView(4)),
                       st.optText(5), st.text(6)});
    return out;
}

}  // namespace tsumugi
