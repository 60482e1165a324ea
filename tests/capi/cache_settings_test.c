/* uintx_cache_settings_get/set from C: values round-trip, NULL keeps a setting, NULL outputs
 * are refused. */
#include <string.h>

#include "tests/capi/c_check.h"

int main(void) {
  const char *config = NULL, *kernels = NULL;
  CHECK_OK(uintx_cache_settings_set("/tmp/uintx-capi-test/configs.json", ""));
  CHECK_OK(uintx_cache_settings_get(&config, &kernels));
  CHECK(config && strcmp(config, "/tmp/uintx-capi-test/configs.json") == 0);
  CHECK(kernels && strcmp(kernels, "") == 0);
  CHECK_OK(uintx_cache_settings_set(NULL, "/tmp/uintx-capi-test/kernels"));
  CHECK_OK(uintx_cache_settings_get(&config, &kernels));
  CHECK(strcmp(config, "/tmp/uintx-capi-test/configs.json") == 0);
  CHECK(strcmp(kernels, "/tmp/uintx-capi-test/kernels") == 0);
  CHECK_OK(uintx_cache_settings_set("", NULL));
  CHECK_OK(uintx_cache_settings_get(&config, &kernels));
  CHECK(strcmp(config, "") == 0 && strcmp(kernels, "/tmp/uintx-capi-test/kernels") == 0);
  CHECK_REJECTS(uintx_cache_settings_get(NULL, &kernels), "config_cache_path is NULL");
  CHECK_REJECTS(uintx_cache_settings_get(&config, NULL), "kernels_dir is NULL");
  return check_summary();
}
