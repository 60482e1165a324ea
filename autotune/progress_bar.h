// Progress of a tuning run: a redrawn bar with ETA on a terminal, one plain line per
// finished step when the output is piped (so logs stay readable).
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace uintx::autotune {

class ProgressBar {
 public:
  using Clock = std::function<double()>;  // monotonic seconds
  static Clock steadyClock();

  ProgressBar(std::ostream& out, bool interactive, int totalSteps, Clock clock = steadyClock());

  void beginStep(const std::string& label);
  // Progress inside the current step (e.g. configs timed); redraws the bar when interactive.
  void stepProgress(int done, int total);
  // Finishes the current step; prints "[i/n] <label>: <outcome> (elapsed .., ETA ..)".
  void endStep(const std::string& outcome);
  // Clears the bar (interactive) and prints a summary line.
  void finish(const std::string& summary);

  // Seconds left, extrapolated from the time so far; negative when not yet known.
  double etaSeconds() const;
  // "0:07", "12:34", "1:02:03"; "--:--" for a negative value.
  static std::string formatDuration(double seconds);
  // The bar as drawn on a terminal, without the leading "\r\x1b[K" (exposed for tests).
  std::string barText() const;

 private:
  void redraw();

  std::ostream& out_;
  const bool interactive_;
  const int totalSteps_;
  const Clock clock_;
  const double startSeconds_;
  int stepsDone_ = 0;
  double stepFraction_ = 0;
  double lastDrawSeconds_ = -1;
  std::string label_;
};

}  // namespace uintx::autotune
