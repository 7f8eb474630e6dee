// A revocation wins every race with a thief who keeps refreshing. The thief loops Refresh,
// replacing its refresh token with the child each time; a few refreshes in, the session is ended
// (the account's sessions revoked, the family revoked, the account disabled, or the family's
// reuse detected). Once that call has returned, no refresh that starts succeeds, on this replica
// or another one, and once the clock has passed the cutoff second no access token the thief got
// is active. Each case runs many trials, since a lost race shows only in some of them.
#include <atomic>
#include <thread>

#include "tests/integration/replica.h"
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

constexpr int kTrials = 12;

enum class Ending { kRevokeAccount, kRevokeFamily, kDisableAccount, kReuse };

struct Thief {
  int refreshed_before = 0;  // OK answers to refreshes begun before the ending returned
  int refreshed_after = 0;   // OK answers to refreshes begun after it returned: must stay 0
  std::string newest;        // the newest refresh token the thief holds
  std::vector<std::string> access_tokens;
};

class RevocationRaceTest : public ServerTest {
 protected:
  // Ends the session of `user_id` whose login returned `first_refresh`, as `ending` says.
  void End(Ending ending, const std::string& user_id, const std::string& first_refresh) {
    grpc::Status s;
    switch (ending) {
      case Ending::kRevokeAccount: {
        v1::RevokeRequest req;
        req.set_account_id(user_id);
        v1::RevokeResponse resp;
        s = Call(a_.token, &v1::TokenService::Stub::Revoke, req, &resp);
        break;
      }
      case Ending::kRevokeFamily: {
        v1::RevokeRequest req;
        req.set_token(first_refresh);
        v1::RevokeResponse resp;
        s = Call(a_.token, &v1::TokenService::Stub::Revoke, req, &resp);
        break;
      }
      case Ending::kDisableAccount: {
        v1::DisableAccountRequest req;
        req.set_account_id(user_id);
        v1::DisableAccountResponse resp;
        s = Call(a_.token, &v1::AdminService::Stub::DisableAccount, req, &resp);
        break;
      }
      case Ending::kReuse: {
        // The login's own token, spent long ago: presenting it again is reuse.
        v1::RefreshRequest req;
        req.set_refresh_token(first_refresh);
        v1::RefreshResponse resp;
        s = Call("", &v1::TokenService::Stub::Refresh, req, &resp);
        ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
        return;
      }
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // One trial; the thief refreshes through `thief_stub` (this replica's or another's).
  Thief Trial(v1::TokenService::Stub* thief_stub, int trial, Ending ending) {
    std::string user = "victim" + std::to_string(trial);
    std::string user_id = MakeUser(a_.token, user, {"read:x"});
    v1::IssueTokenResponse login;
    EXPECT_TRUE(LoginStatus("org-a", user, "password-" + user, &login).ok());
    std::atomic<bool> ended{false};
    std::atomic<int> refreshed{0};
    Thief out;
    out.newest = login.refresh_token();
    std::thread thief([&] {
      for (int i = 0; i < 5000 && out.refreshed_after < 3; ++i) {
        bool after = ended.load();
        // Time moves while the thief works, so a rotation's clock may read later than the
        // revocation's: its token must still be covered.
        clock_.Advance(absl::Milliseconds(97));
        v1::RefreshRequest req;
        req.set_refresh_token(out.newest);
        v1::RefreshResponse resp;
        grpc::ClientContext ctx;
        grpc::Status s = thief_stub->Refresh(&ctx, req, &resp);
        if (!s.ok()) {
          if (after) break;
          continue;  // the ending landed before it returned; try again until it has
        }
        out.newest = resp.refresh_token();
        out.access_tokens.push_back(resp.access_token());
        (after ? out.refreshed_after : out.refreshed_before)++;
        refreshed.fetch_add(1);
      }
    });
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (refreshed.load() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    End(ending, user_id, login.refresh_token());
    ended.store(true);
    thief.join();
    // Past the second of the cutoff, so that a token minted after it would read active.
    clock_.Advance(absl::Seconds(2));
    return out;
  }

  // What the thief holds after a trial is dead on both replicas.
  void ExpectDead(const Thief& t, Replica& b, int trial) {
    EXPECT_GE(t.refreshed_before, 3) << "trial " << trial << ": the thief never got going";
    EXPECT_EQ(t.refreshed_after, 0) << "trial " << trial << ": refreshes after the ending";
    for (auto* stub : {tokens_.get(), b.tokens.get()}) {
      v1::RefreshRequest req;
      req.set_refresh_token(t.newest);
      v1::RefreshResponse resp;
      grpc::ClientContext ctx;
      EXPECT_EQ(stub->Refresh(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << "trial " << trial << ": the thief's newest refresh token still refreshes";
    }
    for (const std::string& access : t.access_tokens) {
      EXPECT_FALSE(Introspect(a_.token, access).active())
          << "trial " << trial << ": an access token of the ended session is active";
    }
    // The other replica follows through the change feed within milliseconds.
    if (!t.access_tokens.empty()) {
      const std::string& last = t.access_tokens.back();
      absl::Time deadline = absl::Now() + absl::Seconds(5);
      while (b.Introspect(a_.token, last).active() && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(2));
      }
      EXPECT_FALSE(b.Introspect(a_.token, last).active())
          << "trial " << trial << ": active on the other replica";
    }
  }

  void Run(Ending ending, bool thief_on_other_replica) {
    Replica b(config_, clock_);
    ASSERT_TRUE(b.status.ok()) << b.status;
    for (int trial = 0; trial < kTrials; ++trial) {
      auto* stub = thief_on_other_replica ? b.tokens.get() : tokens_.get();
      Thief t = Trial(stub, trial, ending);
      ExpectDead(t, b, trial);
    }
  }
};

TEST_F(RevocationRaceTest, AccountRevocationWinsOverRefreshesOnThisReplica) {
  Run(Ending::kRevokeAccount, false);
}
TEST_F(RevocationRaceTest, AccountRevocationWinsOverRefreshesOnAnotherReplica) {
  Run(Ending::kRevokeAccount, true);
}
TEST_F(RevocationRaceTest, FamilyRevocationWinsOverRefreshesOnThisReplica) {
  Run(Ending::kRevokeFamily, false);
}
TEST_F(RevocationRaceTest, FamilyRevocationWinsOverRefreshesOnAnotherReplica) {
  Run(Ending::kRevokeFamily, true);
}
TEST_F(RevocationRaceTest, DisablingWinsOverRefreshes) { Run(Ending::kDisableAccount, true); }
TEST_F(RevocationRaceTest, ReuseDetectionWinsOverRefreshes) { Run(Ending::kReuse, false); }

}  // namespace
}  // namespace tessera
