#!/bin/sh
# One image, three roles (the first argument; flags after it go to `python -m bot`):
#   bot     (default) the chat bot and web story room; with RAY_HEAD_ADDRESS set it first joins
#           that Ray cluster as a node without CPUs or GPUs, so the bot can call the engine.
#   worker  starts a Ray head (or joins RAY_HEAD_ADDRESS) and deploys the engine on it.
#   node    joins RAY_HEAD_ADDRESS with this machine's CPUs and GPUs, adding engine capacity.
set -eu

role="${1:-bot}"
case "$role" in
    bot | worker | node) [ "$#" -gt 0 ] && shift ;;
    *) role=bot ;;
esac
profile=""
[ -n "${INKWELL_PROFILE:-}" ] && profile="--profile=$INKWELL_PROFILE"

case "$role" in
    worker)
        if [ -n "${RAY_HEAD_ADDRESS:-}" ]; then
            ray start --address="$RAY_HEAD_ADDRESS"
        else
            ray start --head --port=6379 --include-dashboard=false
        fi
        exec python -m bot --data-dir /data $profile "$@" worker
        ;;
    node)
        exec ray start --address="${RAY_HEAD_ADDRESS:?set RAY_HEAD_ADDRESS to the head, host:6379}" --block
        ;;
    bot)
        if [ -n "${RAY_HEAD_ADDRESS:-}" ]; then
            ray start --address="$RAY_HEAD_ADDRESS" --num-cpus=0 --num-gpus=0
        fi
        # The container's loopback is unreachable from outside, so the room binds to all
        # interfaces; config refuses to start without INKWELL_WEB_TOKEN in that case.
        exec python -m bot --host 0.0.0.0 --data-dir /data $profile "$@"
        ;;
esac
