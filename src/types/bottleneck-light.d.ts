// The light build of bottleneck (what @octokit/plugin-throttling bundles) has the same API.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
