export { createTracker, type Tracker, type TrackerOptions, type TrackerStats } from "./createTracker.js";
