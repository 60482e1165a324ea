#include "autotune/progress_bar.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace uintx::autotune {

ProgressBar::Clock ProgressBar::steadyClock() {
  return [] {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
  };
}

ProgressBar::ProgressBar(std::ostream& out, bool interactive, int totalSteps, Clock clock)
    : out_(out),
      interactive_(interactive),
      totalSteps_(std::max(totalSteps, 0)),
      clock_(clock ? std::move(clock) : steadyClock()),
      startSeconds_(clock_()) {}

std::string ProgressBar::formatDuration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "--:--";
  long total = std::lround(seconds);
  long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buffer[32];
  if (h > 0)
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", h, m, s);
  else
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", m, s);
  return buffer;
}

double ProgressBar::etaSeconds() const {
  if (totalSteps_ == 0) return 0;
  double fraction = (stepsDone_ + stepFraction_) / totalSteps_;
  if (fraction <= 0) return -1;
  double elapsed = clock_() - startSeconds_;
  return elapsed * (1 - fraction) / fraction;
}

std::string ProgressBar::barText() const {
  constexpr int kWidth = 30;
  double fraction = totalSteps_ == 0 ? 1.0 : (stepsDone_ + stepFraction_) / totalSteps_;
  int filled = std::clamp(static_cast<int>(fraction * kWidth), 0, kWidth);
  std::string text = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] " +
                     std::to_string(stepsDone_) + "/" + std::to_string(totalSteps_) + " " +
                     std::to_string(static_cast<int>(fraction * 100)) + "% ETA " +
                     formatDuration(etaSeconds());
  if (!label_.empty()) {
    constexpr size_t kMaxLabel = 60;
    text += "  " + (label_.size() > kMaxLabel ? label_.substr(0, kMaxLabel - 3) + "..." : label_);
  }
  return text;
}

void ProgressBar::redraw() {
  if (!interactive_) return;
  out_ << "\r\x1b[K" << barText() << std::flush;
  lastDrawSeconds_ = clock_();
}

void ProgressBar::beginStep(const std::string& label) {
  label_ = label;
  stepFraction_ = 0;
  redraw();
}

void ProgressBar::stepProgress(int done, int total) {
  stepFraction_ = total > 0 ? std::clamp(double(done) / total, 0.0, 1.0) : 0.0;
  // A tuner may report hundreds of configs a second; a terminal needs ~10 redraws a second.
  if (interactive_ && clock_() - lastDrawSeconds_ >= 0.1) redraw();
}

void ProgressBar::endStep(const std::string& outcome) {
  ++stepsDone_;
  stepFraction_ = 0;
  const std::string line = "[" + std::to_string(stepsDone_) + "/" + std::to_string(totalSteps_) +
                           "] " + label_ + ": " + outcome + " (elapsed " +
                           formatDuration(clock_() - startSeconds_) + ", ETA " +
                           formatDuration(etaSeconds()) + ")";
  if (interactive_) out_ << "\r\x1b[K";
  out_ << line << "\n";
  label_.clear();
  redraw();
  out_.flush();
}

void ProgressBar::finish(const std::string& summary) {
  if (interactive_) out_ << "\r\x1b[K";
  out_ << summary << "\n" << std::flush;
}

}  // namespace uintx::autotune
