"use strict";
/**
 * What stats needs to know about containers and pods, and nothing more. The container and sandbox
 * managers are adapted to this in src/server/stats/ so this part depends on neither.
 */
Object.defineProperty(exports, "__esModule", { value: true });
