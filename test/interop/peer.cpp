// A C++ OxenMQ peer for the interop suite (test/interop/interop.test.ts), driven by line commands on stdin.
//
//   omq-peer <secret-key-hex | -> [sn]       (a key pair is generated when "-"; "sn" turns on service-node mode)
//
// Binary values are hex; "-" stands for an empty value. Commands (one per line; <rid> is echoed in the answer):
//   listen curve|plain <bind> <allow>  allow: comma-separated "key=level" rules, key being a pubkey hex, an IP or
//                                      "*" (the first match wins; no rule matching = none)
//   ephemeral 0|1                      OxenMQ::EPHEMERAL_ROUTING_ID
//   lookup <pubkey> <address>          an entry for sn_lookup
//   sns <pubkey,pubkey,...|->          set_active_sns
//   start
//   connect <rid> <address>            -> "<rid> CONNECTED <n>" | "<rid> FAILED <hex reason>"
//   connect_sn <rid> <pubkey> <hint|-> -> "<rid> OK"
//   request <rid> <to> <timeout-ms> <cmd> [hex...]  -> "<rid> REPLY 1|0 [hex...]"
//   send <rid> <to> <cmd> [hex...]     -> "<rid> OK"
//   bench <rid> <to> <count> <inflight> <cmd> <hex>
//                                      <count> requests of <cmd> with one data part, <inflight> at a time
//                                      -> "<rid> BENCH <ok> <failed> <elapsed-us>"
//   loglevel <level>                   OxenMQ's log level (debug by default)
//   quit
// <to> is a number from CONNECTED, "sn:<pubkey>", or "last" (the connection of the last message received).
// Reports: "PUBKEY <hex>", "READY", "GOT <command> <pubkey|-> <auth> <sn 0|1> [hex...]", "ALLOW <ip> <pubkey|-> <sn>
// <level>", "LOG <level> <hex message>".
#include <oxenmq/oxenmq.h>
#include <oxenc/hex.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace oxenmq;
using namespace std::literals;

static std::mutex out_mutex;
static void out(const std::string& line) {
    std::lock_guard lock{out_mutex};
    std::cout << line << std::endl;
}
static std::string hex_or_dash(std::string_view s) { return s.empty() ? "-"s : oxenc::to_hex(s.begin(), s.end()); }
static std::string unhex(const std::string& s) {
    if (s == "-") return "";
    if (!oxenc::is_hex(s)) throw std::invalid_argument{"not hex: " + s};
    return oxenc::from_hex(s);
}
static std::string join_hex(const std::vector<std::string>& parts) {
    std::string r;
    for (auto& p : parts) r += " " + hex_or_dash(p);
    return r;
}

static std::mutex state_mutex;
static std::map<std::string, std::string> sn_addresses;  // pubkey (binary) -> address
static std::map<long, ConnectionID> connections;
static std::optional<ConnectionID> last_conn;

static void report(Message& m, std::string_view command) {
    {
        std::lock_guard lock{state_mutex};
        last_conn = m.conn;
    }
    std::vector<std::string> data;
    for (auto& d : m.data) data.emplace_back(d);
    std::ostringstream line;
    line << "GOT " << command << " " << hex_or_dash(m.conn.pubkey()) << " " << to_string(m.access.auth) << " " << (m.access.remote_sn ? 1 : 0)
         << join_hex(data);
    out(line.str());
}

static void whoami(Message& m) {
    report(m, "whoami");
    m.send_reply(m.conn.pubkey().empty() ? "anonymous"s : oxenc::to_hex(m.conn.pubkey()), std::string{to_string(m.access.auth)},
                 m.access.remote_sn ? "sn"s : "-"s);
}

static OxenMQ::AllowFunc allow_from(const std::string& spec) {
    std::vector<std::pair<std::string, AuthLevel>> rules;
    std::istringstream in{spec};
    std::string rule;
    while (std::getline(in, rule, ',')) {
        auto eq = rule.find('=');
        if (eq == std::string::npos) throw std::invalid_argument{"bad allow rule " + rule};
        rules.emplace_back(rule.substr(0, eq), auth_from_string(rule.substr(eq + 1)));
    }
    return [rules](std::string_view ip, std::string_view pk, bool sn) {
        std::string hexpk = pk.empty() ? "" : oxenc::to_hex(pk.begin(), pk.end());
        AuthLevel level = AuthLevel::none;
        for (auto& [key, l] : rules)
            if (key == "*" || key == ip || key == hexpk) { level = l; break; }
        out("ALLOW "s + std::string{ip} + " " + hex_or_dash(pk) + " " + (sn ? "1 " : "0 ") + std::string{to_string(level)});
        return level;
    };
}

static ConnectionID target(const std::string& to) {
    std::lock_guard lock{state_mutex};
    if (to == "last") {
        if (!last_conn) throw std::invalid_argument{"no last connection"};
        return *last_conn;
    }
    if (to.rfind("sn:", 0) == 0) return ConnectionID{unhex(to.substr(3))};
    return connections.at(std::stol(to));
}

/** Requests with a window of `inflight`: each reply's callback sends the next; reports once all have come back. */
static void bench(OxenMQ& omq, std::string rid, ConnectionID to, long count, long inflight, std::string cmd, std::string payload) {
    struct State {
        std::atomic<long> started{0}, ok{0}, failed{0};
        std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    };
    auto st = std::make_shared<State>();
    auto next = std::make_shared<std::function<void()>>();
    *next = [&omq, st, next, rid, to, count, cmd, payload] {
        if (st->started.fetch_add(1) >= count) return;
        omq.request(to, cmd, [st, next, rid, count](bool success, std::vector<std::string>) {
            (success ? st->ok : st->failed)++;
            if (st->ok + st->failed == count) {
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - st->t0).count();
                out(rid + " BENCH " + std::to_string(st->ok) + " " + std::to_string(st->failed) + " " + std::to_string(us));
            } else (*next)();
        }, payload, send_option::request_timeout{10s});
    };
    for (long i = 0; i < inflight && i < count; i++) (*next)();
}

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 2;
    std::string secret, pubkey;
    if (argc > 1 && argv[1] != "-"sv) {
        secret = unhex(argv[1]);
        pubkey.resize(32);
        crypto_scalarmult_base(reinterpret_cast<unsigned char*>(pubkey.data()), reinterpret_cast<const unsigned char*>(secret.data()));
    } else {
        pubkey.resize(32);
        secret.resize(32);
        crypto_box_keypair(reinterpret_cast<unsigned char*>(pubkey.data()), reinterpret_cast<unsigned char*>(secret.data()));
    }
    bool sn = argc > 2 && argv[2] == "sn"sv;
    auto logger = [](LogLevel level, const char* file, int line, std::string msg) {
        std::ostringstream l;
        l << "LOG " << level << " " << oxenc::to_hex(msg.begin(), msg.end());
        out(l.str());
    };
    OxenMQ omq{pubkey, secret, sn,
               [](std::string_view pk) {
                   std::lock_guard lock{state_mutex};
                   auto it = sn_addresses.find(std::string{pk});
                   return it == sn_addresses.end() ? ""s : it->second;
               },
               logger, LogLevel::debug};
    out("PUBKEY " + oxenc::to_hex(pubkey));

    omq.add_category("public", Access{AuthLevel::none})
        .add_request_command("hello", [](Message& m) {
            report(m, "public.hello");
            std::vector<std::string> reply{"hello"};
            for (auto& d : m.data) reply.emplace_back(d);
            m.send_reply(send_option::data_parts(reply));
        })
        .add_request_command("echo", [](Message& m) {
            report(m, "public.echo");
            std::vector<std::string> reply{m.data.begin(), m.data.end()};
            m.send_reply(send_option::data_parts(reply));
        })
        .add_request_command("whoami", whoami)
        .add_command("note", [](Message& m) { report(m, "public.note"); })
        .add_command("ping", [](Message& m) {
            report(m, "public.ping");
            std::vector<std::string> data{m.data.begin(), m.data.end()};
            m.send_back("client.pong", send_option::data_parts(data));
        });
    omq.add_category("basic", Access{AuthLevel::basic}).add_request_command("whoami", whoami);
    omq.add_category("admin", Access{AuthLevel::admin}).add_request_command("whoami", whoami);
    omq.add_category("sn", Access{AuthLevel::none, true, false})
        .add_request_command("whoami", whoami)
        .add_command("note", [](Message& m) { report(m, "sn.note"); })
        .add_command("ping", [&omq](Message& m) {
            report(m, "sn.ping");
            // A strong send back to the service node, by its key (over whichever connection exists).
            omq.send(m.conn, "snw.note", "pong from c++");
        });
    omq.add_category("lsn", Access{AuthLevel::none, false, true}).add_request_command("whoami", whoami);
    omq.add_category("client", Access{AuthLevel::none})
        .add_command("pong", [](Message& m) { report(m, "client.pong"); })
        .add_command("note", [](Message& m) { report(m, "client.note"); });
    omq.add_command_alias("hello", "public.hello");

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in{line};
        std::string cmd;
        in >> cmd;
        std::vector<std::string> args;
        for (std::string a; in >> a;) args.push_back(a);
        try {
            if (cmd == "quit") break;
            else if (cmd == "listen") {
                auto allow = allow_from(args.at(2));
                if (args.at(0) == "curve") omq.listen_curve(args.at(1), allow);
                else omq.listen_plain(args.at(1), allow);
            } else if (cmd == "ephemeral") omq.EPHEMERAL_ROUTING_ID = args.at(0) == "1";
            else if (cmd == "lookup") {
                std::lock_guard lock{state_mutex};
                sn_addresses[unhex(args.at(0))] = args.at(1);
            } else if (cmd == "sns") {
                std::unordered_set<std::string> keys;
                std::istringstream ks{args.at(0) == "-" ? "" : args.at(0)};
                for (std::string k; std::getline(ks, k, ',');) keys.insert(unhex(k));
                omq.set_active_sns({keys.begin(), keys.end()});
            } else if (cmd == "start") {
                omq.start();
                out("READY");
            } else if (cmd == "connect") {
                std::string rid = args.at(0);
                omq.connect_remote(
                        address{args.at(1)},
                        [rid](ConnectionID c) {
                            static long next = 1;
                            long n;
                            {
                                std::lock_guard lock{state_mutex};
                                n = next++;
                                connections.emplace(n, c);
                            }
                            out(rid + " CONNECTED " + std::to_string(n));
                        },
                        [rid](ConnectionID, std::string_view why) { out(rid + " FAILED " + hex_or_dash(why)); });
            } else if (cmd == "connect_sn") {
                if (args.at(2) == "-") omq.connect_sn(unhex(args.at(1)));
                else omq.connect_sn(unhex(args.at(1)), connect_option::hint{args.at(2)});
                out(args.at(0) + " OK");
            } else if (cmd == "request") {
                std::string rid = args.at(0);
                std::vector<std::string> data;
                for (size_t i = 4; i < args.size(); i++) data.push_back(unhex(args[i]));
                omq.request(
                        target(args.at(1)), args.at(3),
                        [rid](bool ok, std::vector<std::string> reply) { out(rid + " REPLY " + (ok ? "1" : "0") + join_hex(reply)); },
                        send_option::data_parts(data), send_option::request_timeout{std::chrono::milliseconds{std::stol(args.at(2))}});
            } else if (cmd == "send") {
                std::vector<std::string> data;
                for (size_t i = 3; i < args.size(); i++) data.push_back(unhex(args[i]));
                omq.send(target(args.at(1)), args.at(2), send_option::data_parts(data));
                out(args.at(0) + " OK");
            } else if (cmd == "bench") {
                bench(omq, args.at(0), target(args.at(1)), std::stol(args.at(2)), std::stol(args.at(3)), args.at(4),
                      unhex(args.at(5)));
            } else if (cmd == "loglevel") {
                omq.log_level(LogLevel{static_cast<int>(std::stol(args.at(0)))});
                out("OK loglevel");
            } else {
                out("ERROR unknown command " + cmd);
            }
        } catch (const std::exception& e) {
            out("ERROR " + cmd + ": " + e.what());
        }
    }
    return 0;
}
