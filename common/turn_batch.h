// TurnBatch: lets an event loop gather the stream writes its thread starts
// during one turn and start them together when the turn ends, so requests
// read in one turn leave in one message.
//
//   // the loop, around its I/O callbacks (libuv: a prepare and a check handle)
//   TurnBatch::Begin();  ... callbacks queue frames ...  TurnBatch::End();
//   // a writer, where it would start a write now:
//   if (!TurnBatch::Defer([=] { StartQueuedWrite(); })) StartQueuedWrite();
//
// Thread-local: only the thread that called Begin gathers; any other thread
// writes at once.
#pragma once

#include "absl/functional/any_invocable.h"

namespace kiln {

class TurnBatch {
 public:
  // Starts gathering on this thread. A Begin while already gathering is a
  // no-op.
  static void Begin();
  // Stops gathering and runs what was deferred since Begin, in order
  // (including what those runs defer: nothing is gathered while they run).
  static void End();
  // When this thread is gathering, keeps `start` for End and returns true;
  // otherwise returns false and `start` is dropped: start the write now.
  static bool Defer(absl::AnyInvocable<void()>& start);
};

}  // namespace kiln
