#include "shardproxy/proxy/protocol/response_scanner.h"

#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy::protocol {

void ResponseScanner::start(ResponseKind kind, std::uint32_t capabilities) {
  kind_ = kind;
  caps_ = capabilities;
  remaining_ = 0;
  params_ = columns_ = 0;
  lastStatus_ = 0;
  warnings_ = 0;
  packets_ = 0;
  rows_ = 0;
  sawStatus_ = sawError_ = continuation_ = false;
  switch (kind) {
    case ResponseKind::kFetch:
      state_ = State::kRows;
      break;
    case ResponseKind::kFieldList:
      state_ = State::kColumns;
      remaining_ = UINT64_MAX;  // until the terminator
      break;
    default:
      state_ = State::kFirst;
  }
}

ResponseScanner::Step ResponseScanner::onPacket(ByteView payload, std::uint32_t length) {
  if (state_ == State::kDone) return Step::kMalformed;
  ++packets_;
  // A packet of exactly 16 MiB - 1 is continued by the next one; continuations carry no header
  // byte of their own, so they are never interpreted.
  if (continuation_) {
    continuation_ = length == kMaxPayload;
    return Step::kMore;
  }
  continuation_ = length == kMaxPayload;
  std::uint8_t first = payload.empty() ? 0 : payload[0];
  const bool deprecateEof = (caps_ & cap::kDeprecateEof) != 0;
  switch (state_) {
    case State::kFirst:
      return onFirst(payload, length);
    case State::kColumns:
      if (kind_ == ResponseKind::kFieldList) {
        if (first == kErrHeader && length < kMaxPayload) {
          sawError_ = true;
          noteError(payload);
          state_ = State::kDone;
          return Step::kDone;
        }
        if (isEofOrOkTerminator(payload, caps_) || (first == kEofHeader && length < 9)) {
          return onTerminator(payload);
        }
        return Step::kMore;
      }
      if (--remaining_ == 0) state_ = deprecateEof ? State::kRows : State::kColumnsEof;
      return Step::kMore;
    case State::kColumnsEof: {
      if (first != kEofHeader) return Step::kMalformed;
      auto eof = decodeEof(payload);
      if (!eof) return Step::kMalformed;
      lastStatus_ = eof->statusFlags;
      sawStatus_ = true;
      // A cursor was opened: rows come later through COM_STMT_FETCH. Only when the execute asked
      // for one: a procedure's own cursor leaks the flag into the result sets of a CALL (with
      // more results to come), and their rows follow as usual.
      if (kind_ == ResponseKind::kExecuteCursor && (eof->statusFlags & status::kCursorExists) &&
          (eof->statusFlags & status::kMoreResultsExist) == 0) {
        state_ = State::kDone;
        return Step::kDone;
      }
      state_ = State::kRows;
      return Step::kMore;
    }
    case State::kRows:
      if (first == kErrHeader && length < kMaxPayload && length > 0) {
        sawError_ = true;
        noteError(payload);
        state_ = State::kDone;
        return Step::kDone;
      }
      if (first == kEofHeader && ((deprecateEof && length < kMaxPayload) || length < 9)) {
        return onTerminator(payload);
      }
      ++rows_;
      return Step::kMore;
    case State::kPrepareParams:
      if (--remaining_ == 0) return finishPrepareSection();
      return Step::kMore;
    case State::kPrepareColumns:
      if (--remaining_ == 0) return finishPrepareSection();
      return Step::kMore;
    case State::kPrepareParamsEof:
    case State::kPrepareColumnsEof:
      if (first != kEofHeader) return Step::kMalformed;
      return finishPrepareSection();
    case State::kDone:
      break;
  }
  return Step::kMalformed;
}

ResponseScanner::Step ResponseScanner::onFirst(ByteView payload, std::uint32_t length) {
  if (payload.empty()) return Step::kMalformed;
  std::uint8_t first = payload[0];
  if (first == kErrHeader) {
    sawError_ = true;
    noteError(payload);
    state_ = State::kDone;
    return Step::kDone;
  }
  if (kind_ == ResponseKind::kSinglePacket) {
    if (first == kOkHeader || first == kEofHeader) {
      if (auto t =
              decodeTerminator(payload, caps_ | (first == kOkHeader ? cap::kDeprecateEof : 0))) {
        lastStatus_ = t->statusFlags;
        sawStatus_ = true;
        warnings_ += t->warnings;
      }
    }
    state_ = State::kDone;
    return Step::kDone;
  }
  if (kind_ == ResponseKind::kPrepare) {
    auto ok = decodeStmtPrepareOk(payload);
    if (!ok) return Step::kMalformed;
    params_ = ok->numParams;
    columns_ = ok->numColumns;
    state_ = State::kPrepareParams;
    remaining_ = params_;
    if (remaining_ == 0) {
      state_ = State::kPrepareColumns;
      remaining_ = columns_;
      if (remaining_ == 0) {
        state_ = State::kDone;
        return Step::kDone;
      }
    }
    return Step::kMore;
  }
  if (first == kOkHeader) {
    // OK packets are short; the peek always covers the status flags.
    ByteReader r(payload);
    r.skip(1);
    (void)r.lenenc();
    (void)r.lenenc();
    std::uint16_t flags = r.u16();
    if (r.failed()) return Step::kMalformed;
    const std::uint16_t warnings = r.remaining() >= 2 ? r.u16() : 0;
    lastStatus_ = flags;
    sawStatus_ = true;
    warnings_ += warnings;
    if (flags & status::kMoreResultsExist) return Step::kMore;
    state_ = State::kDone;
    return Step::kDone;
  }
  if (first == kLocalInfileHeader && kind_ == ResponseKind::kQuery) {
    return Step::kLocalInfile;  // state stays kFirst: the server answers OK/ERR afterwards
  }
  ByteReader r(payload);
  auto count = r.lenenc();
  if (!count || *count == 0 || length > 9) return Step::kMalformed;
  remaining_ = *count;
  state_ = State::kColumns;
  return Step::kMore;
}

ResponseScanner::Step ResponseScanner::onTerminator(ByteView payload) {
  auto t = decodeTerminator(payload, caps_);
  if (!t) return Step::kMalformed;
  const std::uint16_t st = t->statusFlags;
  lastStatus_ = st;
  sawStatus_ = true;
  warnings_ += t->warnings;
  if ((st & status::kMoreResultsExist) && kind_ != ResponseKind::kFetch &&
      kind_ != ResponseKind::kFieldList) {
    state_ = State::kFirst;
    return Step::kMore;
  }
  state_ = State::kDone;
  return Step::kDone;
}

ResponseScanner::Step ResponseScanner::finishPrepareSection() {
  const bool deprecateEof = (caps_ & cap::kDeprecateEof) != 0;
  switch (state_) {
    case State::kPrepareParams:
      if (!deprecateEof) {
        state_ = State::kPrepareParamsEof;
        return Step::kMore;
      }
      [[fallthrough]];
    case State::kPrepareParamsEof:
      state_ = State::kPrepareColumns;
      remaining_ = columns_;
      if (remaining_ != 0) return Step::kMore;
      break;
    case State::kPrepareColumns:
      if (!deprecateEof) {
        state_ = State::kPrepareColumnsEof;
        return Step::kMore;
      }
      break;
    default:
      break;
  }
  state_ = State::kDone;
  return Step::kDone;
}

}  // namespace shardproxy::proxy::protocol
