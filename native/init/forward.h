/* Passing signals on: to the whole PID namespace when shoal-init is its init (PID 1), else only to
 * its own children (never kill(-1) from outside a namespace: that would signal the whole host). */
#ifndef SHOAL_INIT_FORWARD_H
#define SHOAL_INIT_FORWARD_H
#include <stdbool.h>

void forward_signal(int sig);
/* True while another process to wait for exists (namespace mode: any; child mode: a child). */
bool others_alive(void);
#endif
