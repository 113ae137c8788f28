# Sourced by the time_*.sh scripts: times the commands CMD[k] for k in ORDER (bash
# associative array and word list, set by the caller) in one hyperfine run
# (--runs $RUNS --warmup 1, --ignore-failure: exit 1 is a verdict of sbrt check and
# sbrt composite, not a failed run; OUT/hyperfine.json, OUT/hyperfine.txt), then measures each
# command's peak memory $RUNS times (/usr/bin/time -f "%M %e" into OUT/mem_<k>.<i>, its last
# line: a line "Command exited with non-zero status 1" may come first).
# The commands as run go to OUT/commands.txt.
time_commands() {
  local args=() k i
  for k in $ORDER; do echo "$k: ${CMD[$k]}"; done > "$OUT/commands.txt"
  for k in $ORDER; do args+=(-n "$k" "${CMD[$k]}"); done
  hyperfine --runs "$RUNS" --warmup 1 --ignore-failure --export-json "$OUT/hyperfine.json" --output=null "${args[@]}" > "$OUT/hyperfine.txt" 2>&1
  for k in $ORDER; do
    for i in $(seq "$RUNS"); do
      # Exit 1 (a verdict) is a run like any other; anything above it stops the script.
      /usr/bin/time -f "%M %e" -o "$OUT/mem_$k.$i" bash -c "${CMD[$k]}" > /dev/null 2>&1 || [ $? -le 1 ]
    done
  done
}
