// ListAuditEvents on a real PostgreSQL: newest first, paged without overlap, filtered by action
// and actor, needs audit:read, never shows another organization's events or a secret.
#include "tests/integration/server_fixture.h"

namespace tessera {
namespace {

class AuditTest : public ServerTest {
 protected:
  grpc::Status List(const std::string& caller, v1::ListAuditEventsRequest req,
                    v1::ListAuditEventsResponse* resp) {
    return Call(caller, &v1::AdminService::Stub::ListAuditEvents, req, resp);
  }
};

TEST_F(AuditTest, NewestFirstAndPagedWithoutOverlap) {
  for (int i = 0; i < 5; ++i) MakeUser(a_.token, "user" + std::to_string(i), {"read:x"});
  v1::ListAuditEventsRequest req;
  req.set_page_size(3);
  std::vector<int64_t> ids;
  std::vector<std::string> actions;
  for (int pages = 0; pages < 20; ++pages) {
    v1::ListAuditEventsResponse resp;
    ASSERT_TRUE(List(a_.token, req, &resp).ok());
    EXPECT_LE(resp.events_size(), 3);
    for (const auto& e : resp.events()) {
      ids.push_back(std::stoll(e.id()));
      actions.push_back(e.action());
      EXPECT_FALSE(e.request_id().empty());
      EXPECT_GT(e.time().seconds(), 0);
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  ASSERT_GE(ids.size(), 10u);  // 5 roles + 5 accounts at least
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i - 1], ids[i]);  // strictly newest first
  EXPECT_EQ(actions.front(), "account.created");
}

TEST_F(AuditTest, FiltersByActionAndActor) {
  MakeUser(a_.token, "rose", {"read:x"});
  v1::ListAuditEventsRequest req;
  req.set_action("role.created");
  v1::ListAuditEventsResponse resp;
  ASSERT_TRUE(List(a_.token, req, &resp).ok());
  ASSERT_EQ(resp.events_size(), 1);
  EXPECT_EQ(resp.events(0).actor_id(), a_.admin_id);
  EXPECT_NE(resp.events(0).details_json().find("rose-role"), std::string::npos);
  req.Clear();
  req.set_actor_id(a_.admin_id);
  resp.Clear();
  ASSERT_TRUE(List(a_.token, req, &resp).ok());
  ASSERT_GT(resp.events_size(), 0);
  for (const auto& e : resp.events()) EXPECT_EQ(e.actor_id(), a_.admin_id);
  req.set_action("no.such.action");
  resp.Clear();
  ASSERT_TRUE(List(a_.token, req, &resp).ok());
  EXPECT_EQ(resp.events_size(), 0);
}

TEST_F(AuditTest, NeedsAuditReadAndAValidPageToken) {
  MakeUser(a_.token, "sam", {"read:x"});
  MakeUser(a_.token, "tess", {"audit:read"});
  v1::IssueTokenResponse sam, tess;
  ASSERT_TRUE(LoginStatus("org-a", "sam", "password-sam", &sam).ok());
  ASSERT_TRUE(LoginStatus("org-a", "tess", "password-tess", &tess).ok());
  v1::ListAuditEventsRequest req;
  v1::ListAuditEventsResponse resp;
  EXPECT_EQ(List(sam.access_token(), req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(List(tess.access_token(), req, &resp).ok());
  req.set_page_token("not-a-token");
  grpc::Status s = List(a_.token, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("page_token:", 0), 0u);
}

TEST_F(AuditTest, FailedLoginsAreAuditedWithoutThePassword) {
  v1::IssueTokenResponse resp;
  ASSERT_FALSE(LoginStatus("org-a", "admin", "wrong-password-123", &resp).ok());
  v1::ListAuditEventsRequest req;
  req.set_action("auth.failed");
  v1::ListAuditEventsResponse list;
  ASSERT_TRUE(List(a_.token, req, &list).ok());
  ASSERT_EQ(list.events_size(), 1);
  EXPECT_EQ(list.events(0).DebugString().find("wrong-password-123"), std::string::npos);
  EXPECT_NE(list.events(0).details_json().find("wrong_password"), std::string::npos);
}

TEST_F(AuditTest, CrossTenantListAuditEventsShowsOnlyOwnOrg) {
  std::string uma = MakeUser(a_.token, "uma", {"read:x"});
  v1::ListAuditEventsRequest req;
  req.set_page_size(500);
  v1::ListAuditEventsResponse resp;
  ASSERT_TRUE(List(b_.token, req, &resp).ok());
  ASSERT_GT(resp.events_size(), 0);  // org B's admin account and its admin's login
  for (const auto& e : resp.events()) {
    EXPECT_NE(e.target_id(), uma) << e.action();
    EXPECT_NE(e.target_id(), a_.id) << e.action();
    EXPECT_NE(e.action(), "role.created") << "org A's roles leaked";
    EXPECT_EQ(e.details_json().find("uma"), std::string::npos);
  }
  // And org A's log has its own events.
  resp.Clear();
  req.set_action("account.created");
  ASSERT_TRUE(List(a_.token, req, &resp).ok());
  bool found = false;
  for (const auto& e : resp.events()) found |= e.target_id() == uma;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace tessera
