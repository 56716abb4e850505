package compare

import "fmt"

func ioLine(s Side) string {
	return fmt.Sprintf("%s rec/s (%.0f%% of ideal at %.2f ms), %.2f CPU-s/M", rateSpread(s), 100*s.IdealShare, s.MeanHandlerMs, s.CPUPerMillion)
}

func noopLine(s Side) string {
	return fmt.Sprintf("%s rec/s, %.2f CPU-s/M, %.0f MiB", rateSpread(s), s.CPUPerMillion, kib2mib(s.PeakRSSKiB))
}

// rateSpread is a Side's rate with its spread over the repeats.
func rateSpread(s Side) string {
	if len(s.Repeats) < 2 {
		return fmt.Sprintf("%.0f", s.SteadyPerS)
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.SteadyPerS, s.RateMin, s.RateMax)
}

// ratioLine is a median ratio with each repeat's.
func ratioLine(runs []float64) string {
	if len(runs) < 2 {
		return fmt.Sprintf("%.2fx", median(runs))
	}
	return fmt.Sprintf("%.2fx (repeats %s)", median(runs), join(runs, ", ", func(v float64) string { return fmt.Sprintf("%.2f", v) }))
}

func orderLine(o *Order) string {
	if o == nil {
		return "order not traced"
	}
	return fmt.Sprintf("%d of %d records reordered within their key, %d duplicates", o.Reordered, o.Records, o.Duplicates)
}

func kparShareLine(s *Side, line func(Side) string) string {
	if s == nil {
		return ""
	}
	return " | kpar-share " + line(*s)
}
