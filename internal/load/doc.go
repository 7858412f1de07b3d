// Package load is FLPerformance's load generator (docs/metrics.md §7). It decides
// when each request is sent and by whom; it never builds or sends a request
// itself: that is the DoFunc's job, which returns one record.Record per
// request.
//
// Three load models are offered, each labelled by [Plan.String]:
//
//   - sequential: one request in flight at a time;
//   - concurrency N: a closed loop of N workers, each sending its next request
//     when its previous one ends ("N concurrent users");
//   - rate R: an open loop of arrivals on an absolute schedule, constant or
//     Poisson (seeded), optionally capped at MaxInFlight requests in flight.
//
// In the open loop a request's intended send time (Job.Scheduled, t_sched) is
// fixed by the schedule before anything is sent. A request that is late,
// because the generator fell behind or because no slot was free under
// MaxInFlight, keeps its intended time, so its wait shows as Sent − Scheduled
// and enters queue-inclusive latency: no coordinated omission.
//
// Every stage may start with warm-up requests (sent one at a time, flagged
// Warmup), is bounded by a request count, a duration or both, and honours a
// two-stage interrupt (see [WithStop]): stopping schedules nothing more and
// lets requests in flight finish; cancelling the context cancels them too.
//
// [Run] returns a channel that yields one record per request started and is
// closed once all have finished. The generator never waits for the consumer:
// finished records are queued in memory until received, so a slow consumer
// costs memory, never a missed schedule or a slower closed loop. The consumer
// must drain the channel until it is closed.
package load
