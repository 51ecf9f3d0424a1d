"""``asgibench compare``: the same load against several servers, interleaved, repeated, summarised."""
