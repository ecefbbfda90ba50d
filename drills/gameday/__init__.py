"""The live GameDay: a drill's world paced in real time (:mod:`.pacer`), the operators'
session and journal (:mod:`.session`, :mod:`.journal`), Beam's operator surfaces over HTTP
(:mod:`.api`, :mod:`.routes`), a live ``/metrics`` (:mod:`.livemetrics`), the web console
(:mod:`.console`), the score (:mod:`.score`) and the server that runs them in one anyio
loop (:mod:`.server`)."""
