# Pieces scripts/demo and scripts/demo-cluster share; sourced, not run.
# The caller defines fail() and sets $dir (where logs go).

# Waits until $1 answers 2xx, for at most 30 s.
wait_for() {
  for _ in $(seq 1 300); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  tail -n 5 "$dir"/*.log >&2 2>/dev/null || true
  fail "$1 did not come up (logs in $dir)"
}

# A TCP port on 127.0.0.1 that nothing answers on right now, below the
# kernel's ephemeral range (32768 and up here), so that no outgoing
# connection takes it before its server starts.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free port"
}

# Pretty-prints JSON (one document or several) without jq: two spaces per
# level, strings copied as they are.
pretty() {
  awk '
    { text = text $0 "\n" }
    END {
      n = length(text); depth = 0; instr = 0; open = 0
      for (i = 1; i <= n; i++) {
        c = substr(text, i, 1)
        if (instr) {
          printf "%s", c
          if (c == "\\") { i++; printf "%s", substr(text, i, 1) }
          else if (c == "\"") instr = 0
          continue
        }
        if (c == "\"") { instr = 1; open = 1; printf "%s", c; continue }
        if (c ~ /[ \t\r]/) continue
        if (c == "\n") { if (depth == 0 && open) { printf "\n"; open = 0 }; continue }
        open = 1
        if (c == "{" || c == "[") {
          j = i + 1
          while (substr(text, j, 1) ~ /[ \t\r\n]/) j++
          d = substr(text, j, 1)
          if ((c == "{" && d == "}") || (c == "[" && d == "]")) {
            printf "%s%s", c, d; i = j; continue
          }
          depth++; printf "%s\n%s", c, pad(depth); continue
        }
        if (c == "}" || c == "]") { depth--; printf "\n%s%s", pad(depth), c; continue }
        if (c == ",") { printf ",\n%s", pad(depth); continue }
        if (c == ":") { printf ": "; continue }
        printf "%s", c
      }
      if (open) printf "\n"
    }
    function pad(k,   s) { s = ""; while (k-- > 0) s = s "  "; return s }'
}

# The number after "key": in a compact JSON answer (the first one).
field() { # $1 = key, reads stdin
  { grep -o "\"$1\":-\?[0-9]*" || true; } | head -1 | cut -d: -f2
}

# The events a warehouse system sends, made in one awk pass into
# $1/batch-NN.ndjson: 200 SKUs in three warehouses; batch 00 is the morning
# count (absolute on_hand), the others $2 picks, receipts and reservations
# each (batch $3, if given, $4 events).
make_events() { # $1 = dir, $2 = events per batch, $3 = last batch, [$4 = big batch, $5 = its size]
  awk -v dir="$1" -v each="$2" -v last="$3" -v big="${4:--1}" -v bigsize="${5:-0}" 'BEGIN {
    srand(42)
    for (b = 0; b <= last; b++) {
      file = sprintf("%s/batch-%02d.ndjson", dir, b)
      n = b == 0 ? 600 : b == big ? bigsize : each
      for (i = 0; i < n; i++) {
        sku = sprintf("SKU-%03d", b == 0 ? int(i / 3) : int(rand() * 200))
        wh = "WH-" substr("ABC", b == 0 ? i % 3 + 1 : int(rand() * 3) + 1, 1)
        r = rand()
        if (b == 0) what = sprintf("\"on_hand\":%d", 100 + int(rand() * 400))
        else if (r < 0.80) what = "\"delta\":-1"
        else if (r < 0.90) what = sprintf("\"delta\":%d", 1 + int(rand() * 20))
        else what = sprintf("\"reserved\":%d", int(rand() * 4))
        printf "{\"id\":\"wms-%02d-%06d\",\"product\":\"%s\",\"warehouse\":\"%s\",%s}\n",
               b, i, sku, wh, what > file
      }
      close(file)
    }
  }'
}

# What every product's stock must be once each event of $1/batch-*.ndjson
# counted exactly once: "SKU WH on_hand reserved" lines, sorted.
expected_stock() { # $1 = dir
  cat "$1"/batch-*.ndjson | awk -F'"' '
    { key = $8 " " $12; v = $15; gsub(/[:}]/, "", v)
      if ($14 == "on_hand") on[key] = v
      else if ($14 == "delta") on[key] += v
      else res[key] = v
      seen[key] = 1 }
    END { for (k in seen) print k, on[k] + 0, res[k] + 0 }' | sort
}

# "SKU WH on_hand reserved" lines, sorted, from GET /v1/products/{code}
# answers on stdin (one per line).
stock_of_answers() {
  awk '
    { match($0, /"product":"[^"]*"/); sku = substr($0, RSTART + 11, RLENGTH - 12)
      s = $0
      while (match(s, /"WH-[A-C]":\{"available":-?[0-9]+,"on_hand":-?[0-9]+,"reserved":-?[0-9]+/)) {
        m = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
        split(m, p, /[":,{]+/)
        print sku, p[2], p[6], p[8]
      } }' | sort
}

# Seeds the simulators at $1 (http://HOST:PORT) with config/example.json's
# shops: the Shopify store eu-store (the two mapped locations plus a pop-up
# store shelfsync does not map, which it zeroes, rule 5; a few SKUs not
# tracked yet and not stocked at the second location, which it tracks and
# activates, rule 3) and the Amazon seller A2EXAMPLE. With $2 = "stocked",
# every SKU is tracked and stocked at both mapped locations, and there is no
# pop-up stock: scripts/demo-cluster's store, as the cluster's Shopify
# driver does not zero unmapped locations (rule 5) yet, and its first push
# of 200 activations was refused for its query cost (over 1000 points).
seed_simulators() { # $1 = simulator URL, [$2 = stocked]
  local items
  items=$(awk -v stocked="${2:-}" 'BEGIN {
    for (i = 0; i < 200; i++) {
      levels = "{\"gid://shopify/Location/1001\": 0"
      if (stocked) levels = levels ", \"gid://shopify/Location/1002\": 0"
      else if (i % 10 == 1) levels = levels ", \"gid://shopify/Location/1003\": 4"
      printf "%s{\"sku\":\"SKU-%03d\",\"tracked\":%s,\"levels\":%s}}", i ? "," : "",
             i, i % 25 || stocked ? "true" : "false", levels
    }
  }')
  curl -fsS -X POST "$1/_sim/shopify/eu-store/seed" -d "{
    \"access_token\": \"$EU_STORE_TOKEN\",
    \"bucket\": {\"maximum\": 20000, \"restore_rate\": 1000},
    \"locations\": [{\"id\": \"gid://shopify/Location/1001\", \"name\": \"Berlin\"},
                    {\"id\": \"gid://shopify/Location/1002\", \"name\": \"Hamburg\"},
                    {\"id\": \"gid://shopify/Location/1003\", \"name\": \"Pop-up\"}],
    \"items\": [$items]}" >/dev/null
  curl -fsS -X POST "$1/_sim/amazon/sellers" -d "{
    \"seller_id\": \"A2EXAMPLE\", \"client_id\": \"$AMZ_CLIENT_ID\",
    \"client_secret\": \"$AMZ_CLIENT_SECRET\",
    \"refresh_token\": \"$AMZ_REFRESH_TOKEN\"}" >/dev/null
}
# The slot of a product or shop: FNV-1a 64 + MurmurHash3's finalizer modulo
# the number of slots, as cluster/slots.cpp computes it (bash arithmetic is
# 64-bit and wraps; shifts are made logical by masking).
slot_of() { # $1 = text, $2 = slots
  local text=$1 h=$(( 0xcbf29ce484222325 )) i c
  for (( i = 0; i < ${#text}; i++ )); do
    printf -v c '%d' "'${text:i:1}"
    h=$(( (h ^ c) * 0x100000001b3 ))
  done
  h=$(( h ^ ((h >> 33) & 0x7fffffff) ))
  h=$(( h * 0xff51afd7ed558ccd ))
  h=$(( h ^ ((h >> 33) & 0x7fffffff) ))
  h=$(( h * 0xc4ceb9fe1a85ec53 ))
  h=$(( h ^ ((h >> 33) & 0x7fffffff) ))
  # h as unsigned, modulo $2: (h >> 1 logically) * 2 + low bit.
  echo $(( ((((h >> 1) & 0x7fffffffffffffff) % $2) * 2 + (h & 1)) % $2 ))
}
