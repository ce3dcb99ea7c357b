# shellcheck shell=bash
# tests/interop/lib/common.sh -- helpers shared by the server scripts in tests/interop/servers.
# Sourced, not run.  Every server script has the same interface:
#
#   servers/NAME start RUNDIR CERTDIR   start the server under RUNDIR/NAME, wait until it
#                                       listens, write RUNDIR/NAME/info (below), exit 0;
#                                       on any failure stop what was started and exit non-zero
#   servers/NAME stop RUNDIR            stop every process listed in RUNDIR/NAME/pids by PID
#                                       (TERM, then KILL after 10 s), never by name
#
# RUNDIR/NAME/info holds KEY=VALUE lines (not shell-quoted) read by tests/interop/run:
#   NAME VERSION             server name and version string
#   PORT_STARTTLS            plaintext port offering STARTTLS
#   PORT_IMPLICIT            implicit-TLS port (RFC 8314), empty when not supported
#   PORT_TLS12               STARTTLS port limited to TLS 1.2, empty when not configurable
#   STORE STORE_FORMAT       where delivered copies are kept: a maildir (maildir) or the
#                            aiosmtpd sink's directory of NNNNNN.eml + NNNNNN.json (rawstore)
#   EHLO_EXPECT              EHLO keywords the configuration enables (checked after STARTTLS)
#   AUTH_USER AUTH_PASSWORD_FILE   credentials when the server requires AUTH, else empty
#   REQUIRES_STARTTLS        yes when MAIL before STARTTLS must be refused (optional)
#   LOG                      the server's log file, for diagnosis

INTEROP_PY=/usr/bin/python3

die() { echo "${0##*/}: $*" >&2; exit 1; }

# free_ports N: prints N distinct free TCP ports on 127.0.0.1, one per line.  All sockets are
# held open until every port is chosen, so the N are distinct; the kernel picks them (port 0).
free_ports() {
  "$INTEROP_PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# wait_listen PID SECONDS SPEC...: waits until each SPEC answers with an SMTP greeting (220)
# on 127.0.0.1, failing early if PID has exited.  SPEC is plain:PORT (greeting in plaintext)
# or tls:PORT (implicit TLS: handshake first, certificate not checked here).  Reading the
# greeting, not just connecting, catches a daemon whose listener is up but whose SMTP process
# dies on its configuration.  Returns non-zero on timeout or exit.
wait_listen() {
  local pid=$1 secs=$2; shift 2
  "$INTEROP_PY" - "$pid" "$secs" "$@" <<'EOF'
import os, socket, ssl, sys, time
pid, secs, specs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
deadline = time.monotonic() + secs
pending = set(specs)
last = {}
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def greeting(spec):
    kind, port = spec.split(":")
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=2)
    try:
        if kind == "tls":
            s = ctx.wrap_socket(s)
        data = b""
        while b"\n" not in data:
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
        # Leave politely so that the server logs no error for the probe.
        try:
            s.sendall(b"QUIT\r\n")
            s.recv(512)
            if kind == "tls":
                s.unwrap()
        except (OSError, ssl.SSLError):
            pass
        return data
    finally:
        s.close()
while pending and time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("process %d exited before listening" % pid)
    for spec in sorted(pending):
        try:
            data = greeting(spec)
            if data.startswith(b"220"):
                pending.discard(spec)
            else:
                last[spec] = "greeting %r" % data[:200]
        except (OSError, ssl.SSLError) as e:
            last[spec] = str(e)
    if pending:
        time.sleep(0.2)
if pending:
    sys.exit("no SMTP greeting after %.0f s on %s (%s)" % (
        secs, ", ".join(sorted(pending)), "; ".join(last.get(s, "?") for s in sorted(pending))))
EOF
}

# record_pid DIR PID: appends PID to DIR/pids (the list that stop_pids kills).
record_pid() { echo "$2" >>"$1/pids"; }

# stop_pids DIR: TERM each PID in DIR/pids, wait up to 10 s for all, KILL what remains.
# Only PIDs recorded by our own start scripts are signalled.
stop_pids() {
  local dir=$1 pid
  [[ -f $dir/pids ]] || return 0
  local -a pids
  mapfile -t pids <"$dir/pids"
  for pid in "${pids[@]}"; do
    if [[ $pid =~ ^[0-9]+$ ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  local i
  for ((i = 0; i < 100; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do
      [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && alive=1
    done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      echo "${0##*/}: PID $pid did not stop after TERM, sending KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$dir/pids"
}

# write_info DIR KEY=VALUE...: writes DIR/info.
write_info() {
  local dir=$1; shift
  printf '%s\n' "$@" >"$dir/info.tmp"
  mv "$dir/info.tmp" "$dir/info"
}

# start_failed DIR: the ERR/EXIT trap of a start command: stops what was started, shows the
# tail of the log.
start_failed() {
  local dir=$1 log=${2:-}
  echo "${0##*/}: start failed; stopping what was started" >&2
  [[ -n $log && -f $log ]] && tail -n 30 "$log" >&2
  stop_pids "$dir"
}

# ns_exec ROOT STATE CMD...: replaces the shell with CMD run in a new private mount namespace
# (unshare -m) where:
#   /usr                 is ROOT/usr laid over the system's /usr (read-only; ROOT wins), so an
#                        unpacked package runs from its compiled-in paths;
#   /etc, /var, /run     are writable overlays: reads see the system's files, writes land in
#                        STATE/etc.upper, STATE/var.upper, STATE/run.upper and vanish with the
#                        namespace.  Files placed in STATE/etc.upper beforehand (a passwd with a
#                        daemon user, the daemon's configuration) appear in /etc.
# Nothing is mounted or written outside the namespace.  Run as root.  STATE must not lie
# under /etc, /var, /run or /usr (an overlay's upper directory may not be inside its lower).
# Called as the last command of a background subshell, ( ns_exec ... ) &, so that $! ends up
# being CMD's own PID: unshare and sh exec, neither forks.
ns_exec() {
  local root=$1 state=$2; shift 2
  case $(readlink -f "$state")/ in
    /etc/*|/var/*|/run/*|/usr/*) die "ns_exec: state directory $state must not be under /etc, /var, /run or /usr" ;;
  esac
  [[ -d $root/usr ]] || die "ns_exec: $root/usr missing (run tests/interop/fetch-packages)"
  mkdir -p "$state"/etc.upper "$state"/etc.work "$state"/var.upper "$state"/var.work \
           "$state"/run.upper "$state"/run.work
  # shellcheck disable=SC2016  # the script is for the inner sh, which expands it
  exec unshare --mount --propagation private -- /bin/sh -c '
    set -e
    root=$1 state=$2
    shift 2
    mount -t overlay interop-usr -o "lowerdir=$root/usr:/usr" /usr
    for d in etc var run; do
      mount -t overlay "interop-$d" \
        -o "lowerdir=/$d,upperdir=$state/$d.upper,workdir=$state/$d.work" "/$d"
    done
    exec "$@"' interop-ns "$root" "$state" "$@"
}

# free_id START: prints the first number <= START that is neither a UID nor a GID here, for a
# daemon user that exists only inside a namespace's /etc overlay.
free_id() {
  local id=$1
  while getent passwd "$id" >/dev/null || getent group "$id" >/dev/null; do
    id=$((id - 1))
  done
  echo "$id"
}

# add_user STATE NAME ID [HOME]: appends NAME (uid = gid = ID, no login, home HOME or
# /nonexistent) to copies of /etc/passwd and /etc/group in STATE/etc.upper, i.e. only inside
# the namespace.
add_user() {
  local state=$1 name=$2 id=$3 home=${4:-/nonexistent}
  mkdir -p "$state/etc.upper"
  [[ -f $state/etc.upper/passwd ]] || cp /etc/passwd "$state/etc.upper/passwd"
  [[ -f $state/etc.upper/group ]] || cp /etc/group "$state/etc.upper/group"
  echo "$name:x:$id:$id:smtpio interop:$home:/usr/sbin/nologin" >>"$state/etc.upper/passwd"
  echo "$name:x:$id:" >>"$state/etc.upper/group"
}
