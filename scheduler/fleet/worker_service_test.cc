// IsLoopbackPeer: which gRPC peers count as this host.
#include "scheduler/fleet/worker_service.h"

#include "gtest/gtest.h"

namespace kiln::scheduler {
namespace {

TEST(IsLoopbackPeerTest, LoopbackOnly) {
  EXPECT_TRUE(IsLoopbackPeer("ipv4:127.0.0.1:43210"));
  EXPECT_TRUE(IsLoopbackPeer("ipv4:127.1.2.3:1"));
  EXPECT_TRUE(IsLoopbackPeer("ipv6:[::1]:43210"));
  EXPECT_TRUE(IsLoopbackPeer("ipv6:[::ffff:127.0.0.1]:43210"));
  EXPECT_TRUE(IsLoopbackPeer("unix:/run/kiln.sock"));
  EXPECT_FALSE(IsLoopbackPeer("ipv4:10.0.0.7:43210"));
  EXPECT_FALSE(IsLoopbackPeer("ipv4:128.0.0.1:1"));
  EXPECT_FALSE(IsLoopbackPeer("ipv6:[::2]:43210"));
  EXPECT_FALSE(IsLoopbackPeer("ipv6:[fe80::1]:1"));
  EXPECT_FALSE(IsLoopbackPeer(""));
}

}  // namespace
}  // namespace kiln::scheduler
