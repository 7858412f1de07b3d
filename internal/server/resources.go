package server

import (
	"context"
	"net/http"
	"sort"
	"time"

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// maxResourcePoints is the most points GET /runs/{id}/resources returns:
// a longer series is averaged into time buckets (see downsample).
const maxResourcePoints = 1500

// resourceWindow is one model × scenario stage of a run on the time axis
// of its resource samples: From and To are absolute, FromMS and ToMS the
// same instants in milliseconds since the series' start (null when the run
// has no series).
type resourceWindow struct {
	Model    string    `json:"model"`
	Scenario string    `json:"scenario"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	FromMS   *float64  `json:"from_ms"`
	ToMS     *float64  `json:"to_ms"`
}

// gpuPoint is one GPU's figures in a resourcePoint.
type gpuPoint struct {
	Index      int      `json:"index"`
	Vendor     string   `json:"vendor"`
	UtilPct    *float64 `json:"util_pct"`
	MemUsedMiB *float64 `json:"mem_used_mib"`
	PowerW     *float64 `json:"power_w"`
	TempC      *float64 `json:"temp_c"`
}

// resourcePoint is one point of the resources-over-time plot: the mean of
// the samples of one time bucket (one sample when the series is short).
// TMS is the mean of their times, in ms since the series' start; each
// figure is the mean over the samples that have it, null when none has.
type resourcePoint struct {
	TMS           float64    `json:"t_ms"`
	N             int        `json:"n"` // samples averaged into the point
	CPUPct        *float64   `json:"cpu_pct"`
	MemUsedBytes  *float64   `json:"mem_used_bytes"`
	ProcCPUPct    *float64   `json:"proc_cpu_pct"`
	ProcRSSBytes  *float64   `json:"proc_rss_bytes"`
	PackagePowerW *float64   `json:"package_power_w"`
	GPUs          []gpuPoint `json:"gpus"`
}

// resourcesView is GET /runs/{id}/resources. Sampled is false (and Points
// empty) when the run has no stored series: it was not sampled, or it is
// still running (the series is stored when it ends).
type resourcesView struct {
	Sampled    bool             `json:"sampled"`
	IntervalMS int64            `json:"interval_ms"`
	Start      *time.Time       `json:"start"`
	Samples    int              `json:"samples"`   // samples in the stored series
	BucketMS   *float64         `json:"bucket_ms"` // width of a time bucket; null when every sample is a point
	Notes      []string         `json:"notes"`
	Cost       *telemetry.Cost  `json:"cost"`
	Windows    []resourceWindow `json:"windows"`
	Points     []resourcePoint  `json:"points"`
}

// handleResources answers GET /runs/{id}/resources: the run's resource
// samples for plotting, at most maxResourcePoints of them, with its stage
// windows on the same time axis. Cached once the run is over.
func (s *Server) handleResources(w http.ResponseWriter, r *http.Request) error {
	return s.runSeries(w, r, "resources", func(ctx context.Context, id string, res *runner.Result) (any, error) {
		series, err := s.db.Series(ctx, id)
		if err != nil {
			return nil, err
		}
		return resourcesOf(res, series, maxResourcePoints), nil
	})
}

// runSeries answers GET /runs/{id}/KIND, a time series view of one run:
// build makes it from the stored run; it is cached under KIND once the run
// is over (a running run's series is stored when it ends).
func (s *Server) runSeries(w http.ResponseWriter, r *http.Request, kind string, build func(ctx context.Context, id string, res *runner.Result) (any, error)) error {
	ctx := r.Context()
	id, err := s.resolveRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	ck := kind + "\x00" + id
	if v, ok := s.cache.get(ck); ok {
		return writeData(w, http.StatusOK, v)
	}
	res, err := s.result(ctx, id)
	if err != nil {
		return err
	}
	v, err := build(ctx, id, res)
	if err != nil {
		return err
	}
	if finished(res) {
		s.cache.put(ck, id, v)
	}
	return writeData(w, http.StatusOK, v)
}

// resourcesOf builds the view of run res and its series (nil: not
// sampled), with at most maxPoints points.
func resourcesOf(res *runner.Result, series *telemetry.Series, maxPoints int) *resourcesView {
	v := &resourcesView{Notes: []string{}, Windows: []resourceWindow{}, Points: []resourcePoint{}}
	if res.Resources != nil {
		v.IntervalMS = res.Resources.IntervalMS
		v.Notes = append(v.Notes, res.Resources.Notes...)
		for _, st := range res.Resources.Stages {
			v.Windows = append(v.Windows, resourceWindow{Model: st.Model, Scenario: st.Scenario, From: st.From, To: st.To})
		}
	}
	if series == nil {
		if !finished(res) {
			v.Notes = append(v.Notes, "the resource samples are stored when the run ends")
		}
		return v
	}
	v.Sampled = true
	v.IntervalMS = series.IntervalMS
	start := series.Start
	v.Start = &start
	v.Samples = len(series.Samples)
	cost := series.Cost
	v.Cost = &cost
	if res.Resources == nil {
		v.Notes = append(v.Notes, series.Notes...)
	}
	for i := range v.Windows {
		from := msSince(start, v.Windows[i].From)
		to := msSince(start, v.Windows[i].To)
		v.Windows[i].FromMS, v.Windows[i].ToMS = &from, &to
	}
	v.Points, v.BucketMS = downsample(series.Samples, maxPoints)
	return v
}

// msSince returns t − start in milliseconds.
func msSince(start, t time.Time) float64 {
	return float64(t.Sub(start)) / float64(time.Millisecond)
}

// downsample turns samples (in time order) into at most maxPoints points.
// With no more samples than that, each sample is a point. Otherwise the
// span from the first sample's time to the last one's is cut into
// maxPoints buckets of equal width (returned as bucketMS); sample i falls
// in bucket floor((T_i − T_first) / width), the last sample in the last
// bucket; each non-empty bucket gives one point: the mean time of its
// samples and, per figure, the mean over the samples that have it (null
// when none has: a gap is never averaged in as 0). GPUs are matched by
// vendor and index and listed in that order.
func downsample(samples []telemetry.Sample, maxPoints int) (points []resourcePoint, bucketMS *float64) {
	points = []resourcePoint{}
	n := len(samples)
	if n == 0 {
		return points, nil
	}
	maxPoints = max(maxPoints, 1)
	if n <= maxPoints {
		for i := range samples {
			points = append(points, pointOf(samples[i:i+1]))
		}
		return points, nil
	}
	t0, t1 := samples[0].T, samples[n-1].T
	width := float64(t1-t0) / float64(maxPoints)
	bucket := func(i int) int {
		if width <= 0 {
			return 0
		}
		return min(int(float64(samples[i].T-t0)/width), maxPoints-1)
	}
	for lo := 0; lo < n; {
		b := bucket(lo)
		hi := lo + 1
		for hi < n && bucket(hi) == b {
			hi++
		}
		points = append(points, pointOf(samples[lo:hi]))
		lo = hi
	}
	return points, &width
}

// avg accumulates the mean of a figure over the samples that have it.
type avg struct {
	n   int
	sum float64
}

func (m *avg) add(v *float64) {
	if v != nil {
		m.n++
		m.sum += *v
	}
}

func (m *avg) addU(v *uint64) {
	if v != nil {
		m.n++
		m.sum += float64(*v)
	}
}

// value is the mean, nil when no sample had the figure.
func (m *avg) value() *float64 {
	if m.n == 0 {
		return nil
	}
	x := m.sum / float64(m.n)
	return &x
}

// gpuID identifies a GPU across samples.
type gpuID struct {
	vendor string
	index  int
}

// gpuMeans accumulates one GPU's figures.
type gpuMeans struct {
	gpuID
	util, mem, pow, tmp avg
}

// pointOf averages samples (at least one) into a point.
func pointOf(samples []telemetry.Sample) resourcePoint {
	var t, cpu, mem, pcpu, rss, pkg avg
	gpus := map[gpuID]*gpuMeans{}
	for i := range samples {
		s := &samples[i]
		tv := float64(s.T)
		t.add(&tv)
		cpu.add(s.CPUPct)
		mem.addU(s.MemUsedBytes)
		pcpu.add(s.ProcCPUPct)
		rss.addU(s.ProcRSSBytes)
		pkg.add(s.PackagePowerW)
		for _, g := range s.GPUs {
			k := gpuID{g.Vendor, g.Index}
			a := gpus[k]
			if a == nil {
				a = &gpuMeans{gpuID: k}
				gpus[k] = a
			}
			a.util.add(g.UtilPct)
			a.mem.add(g.MemUsedMiB)
			a.pow.add(g.PowerW)
			a.tmp.add(g.TempC)
		}
	}
	p := resourcePoint{TMS: *t.value(), N: len(samples), CPUPct: cpu.value(), MemUsedBytes: mem.value(),
		ProcCPUPct: pcpu.value(), ProcRSSBytes: rss.value(), PackagePowerW: pkg.value(), GPUs: []gpuPoint{}}
	for _, a := range gpus {
		p.GPUs = append(p.GPUs, gpuPoint{Index: a.index, Vendor: a.vendor,
			UtilPct: a.util.value(), MemUsedMiB: a.mem.value(), PowerW: a.pow.value(), TempC: a.tmp.value()})
	}
	sort.Slice(p.GPUs, func(i, j int) bool {
		if p.GPUs[i].Vendor != p.GPUs[j].Vendor {
			return p.GPUs[i].Vendor < p.GPUs[j].Vendor
		}
		return p.GPUs[i].Index < p.GPUs[j].Index
	})
	return p
}
