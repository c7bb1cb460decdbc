#!/usr/bin/env bash
# Benchmark rexec against OpenSSH on loopback (run as root): p50/p99 latency
# of `rexec true` vs `ssh true`, and the throughput of 1 GiB through `cat`
# (rexec over plain TCP and over mutual TLS; ssh with aes128-gcm). A
# throwaway sshd (generated host and client keys, key auth only) and a
# rexec_server (release build) run on free loopback ports and are stopped at
# the end. Needs: openssh-server, openssh-client, openssl, python3.
# Environment: RUNS (default 200), BYTES (default 1 GiB), REXEC_BIN_DIR
# (default: build with cargo into $CARGO_TARGET_DIR or ./target).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUNS=${RUNS:-200}
BYTES=${BYTES:-1073741824}

[ "$(id -u)" = 0 ] || { echo "rexec_vs_ssh.sh: run as root (sshd)" >&2; exit 1; }
for t in /usr/sbin/sshd ssh ssh-keygen openssl python3; do
    command -v "$t" >/dev/null || { echo "rexec_vs_ssh.sh: $t missing (apt-get install openssh-server openssh-client openssl python3)" >&2; exit 1; }
done

if [ -z "${REXEC_BIN_DIR:-}" ]; then
    (cd "$root" && cargo build --release -q -p rexec)
    REXEC_BIN_DIR=${CARGO_TARGET_DIR:-$root/target}/release
fi
REXEC=$REXEC_BIN_DIR/rexec
SERVER=$REXEC_BIN_DIR/rexec_server

work=$(mktemp -d /tmp/rexec-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2; return 1
}

# --- sshd: host key, client key, key auth only.
ssh_port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
mkdir -p /run/sshd
cat >"$work/sshd_config" <<CFG
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
LogLevel ERROR
CFG
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
pids+=($!)
wait_port "$ssh_port"
SSH="ssh -q -p $ssh_port -i $work/client_key -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -c aes128-gcm@openssh.com root@127.0.0.1"

# --- TLS material for rexec (EC P-256).
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj /CN=rexec-bench-ca 2>/dev/null
for who in server client; do
    usage=serverAuth; [ $who = client ] && usage=clientAuth
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr \
        -subj /CN=$who 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' $usage >$who.ext
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 2 \
        -extfile $who.ext 2>/dev/null
done
chmod 600 ./*.key
cd - >/dev/null

# --- rexec_server: plain and TLS instances.
rexec_port=$(free_port)
rexec_tls_port=$(free_port)
allow='[[allow]]
path = "/usr/bin/true"
[[allow]]
path = "/usr/bin/cat"'
# Loopback only: the bench's own client is the only one.
printf 'allowed_clients = ["127.0.0.1"]\ninsecure_plaintext = true\n%s\n' "$allow" >"$work/plain.toml"
printf 'allowed_clients = ["127.0.0.1"]\n[tls]\ncert = "%s"\nkey = "%s"\nclient_ca = "%s"\nclients = ["localhost"]\n%s\n' \
    "$work/server.pem" "$work/server.key" "$work/ca.pem" "$allow" >"$work/tls.toml"
chmod 600 "$work/plain.toml" "$work/tls.toml"
CMD_NET_ADDR=tcp://127.0.0.1:$rexec_port REXEC_LOG=warn "$SERVER" -c "$work/plain.toml" 2>"$work/rexec_server.log" &
pids+=($!)
server_pid=$!
CMD_NET_ADDR=tcp://127.0.0.1:$rexec_tls_port REXEC_LOG=warn "$SERVER" -c "$work/tls.toml" 2>"$work/rexec_server_tls.log" &
pids+=($!)
wait_port "$rexec_port"
wait_port "$rexec_tls_port"
RX="env CMD_NET_ADDR=tcp://127.0.0.1:$rexec_port REXEC_CONFIG=/dev/null $REXEC"
RX_TLS="env CMD_NET_ADDR=tcp://127.0.0.1:$rexec_tls_port REXEC_CONFIG=/dev/null REXEC_TLS_CA=$work/ca.pem REXEC_TLS_CERT=$work/client.pem REXEC_TLS_KEY=$work/client.key $REXEC"

# Sanity: all three work.
[ "$(echo ok | $RX cat)" = ok ]
[ "$(echo ok | $RX_TLS cat)" = ok ]
[ "$(echo ok | $SSH cat)" = ok ]

echo "rexec vs OpenSSH on loopback — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rexec: $REXEC (release); ssh: $(ssh -V 2>&1), ed25519 keys, cipher aes128-gcm@openssh.com"
BENCH_SERVER_PID=$server_pid python3 "$here/rexec_bench.py" "$RUNS" "$BYTES" \
    "rexec=$RX" "rexec-tls=$RX_TLS" "ssh=$SSH"
