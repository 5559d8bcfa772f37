// Codec micro-benchmarks: the per-packet work the relay does on every result (scanning packet
// boundaries) and the per-connection work of the handshake. Reports heap allocations per
// iteration, which must stay 0 for the scanner.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "alloc_counter.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/messages.h"
#include "shardproxy/proxy/protocol/response_scanner.h"

using namespace shardproxy::proxy::protocol;

namespace {

// A framed 1000-row, 3-column text result set as MariaDB sends it (DEPRECATE_EOF).
Bytes makeResult(std::size_t rows) {
  Bytes out;
  std::uint8_t seq = 1;
  auto packet = [&](auto fill) {
    std::size_t start = beginPacket(out);
    fill(out);
    endPacket(out, start, seq);
  };
  packet([](Bytes& b) { ByteWriter(b).lenenc(3); });
  for (int i = 0; i < 3; ++i) {
    packet([](Bytes& b) {
      ColumnDefinition c;
      c.name = "c";
      encode(c, b);
    });
  }
  for (std::size_t r = 0; r < rows; ++r) {
    packet([](Bytes& b) {
      ByteWriter w(b);
      w.lenencStr("12345");
      w.lenencStr("some text value");
      w.lenencStr("2026-11-27 12:00:00");
    });
  }
  packet([](Bytes& b) {
    OkPacket ok;
    ok.eofHeader = true;
    ok.statusFlags = status::kAutocommit;
    encode(ok, cap::kProtocol41, b);
  });
  return out;
}

void BM_ScanResultSet(benchmark::State& state) {
  Bytes result = makeResult(static_cast<std::size_t>(state.range(0)));
  const std::uint32_t caps = cap::kProtocol41 | cap::kDeprecateEof;
  std::uint64_t allocsBefore = bench::allocationCount();
  for (auto _ : state) {
    ResponseScanner scanner;
    scanner.start(ResponseKind::kQuery, caps);
    std::size_t pos = 0;
    while (!scanner.done()) {
      auto hdr = parseHeader(result.data() + pos);
      scanner.onPacket(ByteView(result.data() + pos + kHeaderSize, hdr.length), hdr.length);
      pos += kHeaderSize + hdr.length;
    }
    benchmark::DoNotOptimize(scanner.lastStatus());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * result.size()));
  state.counters["allocs_per_iter"] =
      benchmark::Counter(static_cast<double>(bench::allocationCount() - allocsBefore) /
                         static_cast<double>(state.iterations()));
}
BENCHMARK(BM_ScanResultSet)->Arg(1)->Arg(1000);

void BM_DecodeHandshakeResponse(benchmark::State& state) {
  HandshakeResponse41 r;
  r.capabilities = cap::kProtocol41 | cap::kSecureConnection | cap::kPluginAuth |
                   cap::kPluginAuthLenencData | cap::kConnectWithDb | cap::kConnectAttrs;
  r.username = "app";
  r.authResponse = std::string(20, 'x');
  r.database = "shop";
  r.authPluginName = kNativePasswordPlugin;
  r.attributes = {{"_client_name", "libmariadb"}, {"_os", "Linux"}, {"_pid", "1234"}};
  Bytes payload;
  encode(r, payload);
  for (auto _ : state)
    benchmark::DoNotOptimize(decodeHandshakeResponse41(payload));
}
BENCHMARK(BM_DecodeHandshakeResponse);

}  // namespace

BENCHMARK_MAIN();
