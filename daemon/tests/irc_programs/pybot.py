"""An IRC bot on python3-irc (Debian's python3-irc 8.5), driven line by line for chatd's tests.

Usage: /usr/bin/python3 pybot.py HOST PORT NICK [PASSWORD]

It connects as python3-irc does (PASS, NICK, then `USER nick 0 * :nick`) and then:
- prints every event the library hands it, one per line, fields separated by tabs:
  `type<TAB>source<TAB>target<TAB>argument...` (`-` for a missing source or target), and
  `closed` once the connection is gone;
- reads commands from stdin, one per line: `privmsg TARGET TEXT`, `action TARGET TEXT`,
  `notice TARGET TEXT`, `nick NEW`, `join CHANNEL`, `part CHANNEL REASON`, `whois NICK`,
  `raw LINE`, `quit REASON`; end of input quits.

It never reconnects and exits when the connection closes, so the test that started it knows
its whole life from its output.
"""

import os
import select
import sys

import irc.client


def field(value):
    return "-" if value is None else str(value)


def main():
    host, port, nick = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = sys.argv[4] if len(sys.argv) > 4 else None
    reactor = irc.client.IRC()

    def show(_conn, event):
        if event.type in ("all_raw_messages", "ping"):
            return
        fields = [event.type, field(event.source), field(event.target)]
        fields += [str(a) for a in (event.arguments or [])]
        print("\t".join(fields), flush=True)

    reactor.add_global_handler("all_events", show)
    conn = reactor.server().connect(host, port, nick, password=password, ircname=nick)
    inputs = [conn.socket, sys.stdin]
    pending = b""
    while conn.is_connected():
        ready, _, _ = select.select(inputs, [], [], 1.0)
        if conn.socket in ready:
            reactor.process_data([conn.socket])
        if sys.stdin in ready:
            chunk = os.read(sys.stdin.fileno(), 4096)
            pending += chunk
            while b"\n" in pending and conn.is_connected():
                raw, pending = pending.split(b"\n", 1)
                run(conn, raw.decode("utf-8"))
            if not chunk:
                inputs.remove(sys.stdin)
                if conn.is_connected():
                    conn.quit("end of input")
    print("closed", flush=True)


def run(conn, line):
    verb, _, rest = line.partition(" ")
    if verb in ("privmsg", "action", "notice"):
        target, _, text = rest.partition(" ")
        getattr(conn, verb)(target, text)
    elif verb == "nick":
        conn.nick(rest)
    elif verb == "join":
        conn.join(rest)
    elif verb == "part":
        channel, _, reason = rest.partition(" ")
        conn.part([channel], reason)
    elif verb == "whois":
        conn.whois([rest])
    elif verb == "raw":
        conn.send_raw(rest)
    elif verb == "quit":
        conn.quit(rest)
    else:
        print("bad-command\t" + line, flush=True)


if __name__ == "__main__":
    main()
