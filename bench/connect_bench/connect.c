// Connection cost: N times connect (handshake + mysql_native_password login, a database named),
// SELECT 1 (unless the 6th argument is "connect-only"), close; prints the median and p95 of one
// such cycle in microseconds.
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: connect PORT USER PASSWORD DB N\n");
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[5]);
  int query = !(argc > 6 && strcmp(argv[6], "connect-only") == 0);
  double* us = malloc(sizeof(double) * n);
  unsigned int tcp = MYSQL_PROTOCOL_TCP;
  for (int i = 0; i < n; i++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    MYSQL* m = mysql_init(NULL);
    mysql_options(m, MYSQL_OPT_PROTOCOL, &tcp);
    if (!mysql_real_connect(m, "127.0.0.1", argv[2], argv[3], argv[4], port, NULL, 0)) {
      fprintf(stderr, "connect: %s\n", mysql_error(m));
      return 1;
    }
    if (query) {
      if (mysql_query(m, "SELECT 1")) {
        fprintf(stderr, "query: %s\n", mysql_error(m));
        return 1;
      }
      mysql_free_result(mysql_store_result(m));
    }
    mysql_close(m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us[i] = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
  }
  qsort(us, n, sizeof(double), cmp);
  printf("%.1f %.1f\n", us[n / 2], us[n * 95 / 100]);
  return 0;
}
